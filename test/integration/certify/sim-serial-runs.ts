import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { analyseCase } from '../../../analysis/registry.js';
import { readRunRecord } from '../../../core/record/reader.js';
import { RECORD_FILE } from '../../../core/record/store.js';
import { type CertifyResult, certify } from '../../../engine/certify.js';
import { rigProvider } from '../../../engine/rig-provider.js';

/**
 * What the sim-serial real-time tests share: certify in-process with the built-in rig provider, into a directory of
 * the test file's own, and the entries of a case read back from its record (checked whole).
 */
export const TIME_SCALE = 60;
export const dir = mkdtempSync(join(tmpdir(), 'bench-sim-serial-'));

export function run(
  rig: string,
  extra: { only?: string[]; timeScale?: number; meterConfig?: string; suite?: string } = {},
) {
  return certify(
    {
      suite: extra.suite ?? 'metrology-mid',
      rig,
      seed: 1,
      runsDir: join(dir, 'runs'),
      reportsDir: join(dir, 'reports'),
      formats: ['json'],
      signal: new AbortController().signal,
      argv: [],
      ...extra,
    },
    rigProvider,
  );
}

export function caseEntries(r: CertifyResult, caseId: string) {
  const record = readRunRecord(join(r.runDir, RECORD_FILE));
  expect(record.integrity).toBe('OK');
  return record.entries
    .filter((e) => (e.data as { caseId?: string }).caseId === caseId)
    .map((e) => ({ kind: e.kind, data: e.data as Record<string, unknown> }));
}

// Both rigs' registers over the same windows (sim would otherwise gate on its meter's pulse edges: a shorter window,
// other energies, so the two could not be compared point by point).
export const points = (r: CertifyResult) =>
  analyseCase(caseEntries(r, 'test-points'), { metrology: true, midClass: 'B', itrA: 0.5, errorFrom: 'registers' })
    .metrology?.points ?? [];
