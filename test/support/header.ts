import type { RunHeader } from '../../core/record/types.js';
import { RUN_RECORD_FORMAT } from '../../core/record/types.js';

/** A run header for tests that create records directly. */
export function testHeader(seed = 1): Omit<RunHeader, 'runId' | 'startedAt'> {
  return {
    format: RUN_RECORD_FORMAT,
    tool: { name: 'bench', version: 'test' },
    node: process.version,
    platform: process.platform,
    argv: [],
    seeds: { run: seed },
  };
}
