import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NotFoundError } from '../errors.js';
import { type RunRecordRead, readRunRecord, scanRunRecord } from './reader.js';
import type { RecordEntry, RunHeader } from './types.js';
import { RunRecordWriter } from './writer.js';

export const RECORD_FILE = 'record.jsonl';

/** Where runs live: --runs-dir, else $BENCH_RUNS_DIR, else ./runs. */
export function resolveRunsDir(flag?: string): string {
  return resolve(flag ?? process.env.BENCH_RUNS_DIR ?? 'runs');
}

function newRunId(now: Date): string {
  const iso = now.toISOString(); // 2026-11-24T15:20:40.123Z
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * Creates a new run directory and its record. The directory is created non-recursively, so an existing run is
 * never reused or overwritten, even when two runs start in the same second.
 */
export function createRun(
  runsDir: string,
  header: Omit<RunHeader, 'runId' | 'startedAt'>,
): { runId: string; dir: string; writer: RunRecordWriter } {
  mkdirSync(runsDir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const now = new Date();
    const runId = newRunId(now);
    const dir = join(runsDir, runId);
    try {
      mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 10) continue;
      throw e;
    }
    const writer = RunRecordWriter.create(join(dir, RECORD_FILE), { ...header, runId, startedAt: now.toISOString() });
    return { runId, dir, writer };
  }
}

export function runRecordPath(runsDir: string, runId: string): string {
  const file = join(runsDir, runId, RECORD_FILE);
  if (!/^[\w.-]+$/.test(runId) || !existsSync(file)) {
    throw new NotFoundError(
      `run ${runId} not found in ${runsDir}`,
      [{ file, message: 'no such run' }],
      ['List runs with `bench run list`.'],
    );
  }
  return file;
}

export function loadRun(runsDir: string, runId: string): RunRecordRead {
  return readRunRecord(runRecordPath(runsDir, runId));
}

/**
 * A run's record with the entries of some kinds left out, read as it streams (their lines only hash-checked): for
 * readers of a long run's billing or OCPP entries, which need none of its hundreds of MB of measurements.
 */
export async function loadRunWithout(
  runsDir: string,
  runId: string,
  kinds: ReadonlySet<string>,
): Promise<RunRecordRead> {
  const entries: RecordEntry[] = [];
  const scan = await scanRunRecord(
    runRecordPath(runsDir, runId),
    (e) => {
      if (!kinds.has(e.kind)) entries.push(e);
      return undefined;
    },
    { skip: (kind) => kinds.has(kind) },
  );
  return { ...scan, entries };
}

/** Every run in the directory, newest first. */
export function listRunIds(runsDir: string): string[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(runsDir, d.name, RECORD_FILE)))
    .map((d) => d.name)
    .sort()
    .reverse();
}
