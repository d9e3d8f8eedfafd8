import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ENTRY } from '../core/record/entries.js';
import { type RunRecordScan, scanRunRecord } from '../core/record/reader.js';
import { listRunIds, resolveRunsDir, runRecordPath } from '../core/record/store.js';
import type { Integrity, RunHeader, RunStatus, Verdict } from '../core/record/types.js';

export interface RunSummary {
  runId: string;
  integrity: Integrity;
  startedAt?: string;
  suite?: string;
  rig?: string;
  status?: RunStatus;
  verdict?: Verdict;
}

export interface CaseVerdictData {
  caseId: string;
  verdict: Verdict;
  reason?: string;
}

export interface RunDetail extends RunSummary {
  file: string;
  lastHash: string;
  problem?: { line: number; reason: string };
  header?: RunHeader;
  entryCount: number;
  cases: Array<{ id: string; verdict: Verdict; reason?: string }>;
}

export async function listRuns(
  runsDirFlag: string | undefined,
  limit = 50,
): Promise<{ runsDir: string; runs: RunSummary[] }> {
  const runsDir = resolveRunsDir(runsDirFlag);
  const runs: RunSummary[] = [];
  for (const runId of listRunIds(runsDir).slice(0, limit))
    runs.push(await cachedSummary(runId, runRecordPath(runsDir, runId)));
  return { runsDir, runs };
}

/** Beside each record: the summary `run list` last verified, and the SHA-256 and size of the bytes it verified. */
export const VERIFY_CACHE_FILE = 'verify-cache.json';
const VERIFY_CACHE_FORMAT = 'bench.verify-cache/1';

/**
 * A record's summary, verified entry by entry only when its bytes changed since the last `run list` (verifying
 * took 22 s for 43 runs: an ev-billing record is 31 MB of entries, each parsed and re-hashed).
 *
 * The key is the SHA-256 of the whole file (one native pass, no parsing) and its size, not its size and mtime:
 * a byte changed in place keeps the size, `touch -r`/utimes puts the mtime back, and a hash of the last line does
 * not see the middle, so such a key could show a tampered record as OK. Keyed by the bytes themselves, the cache
 * only ever answers for exactly the bytes it verified. (A cache file rewritten by hand can lie, but so can a
 * record rewritten with its chain recomputed: the chain has no secret either. `run show` always verifies.) Both the
 * key and the check stream the file: a week's record is hundreds of MB.
 */
async function cachedSummary(runId: string, file: string): Promise<RunSummary> {
  const key = await fileKey(file);
  const cacheFile = join(dirname(file), VERIFY_CACHE_FILE);
  try {
    const c = JSON.parse(readFileSync(cacheFile, 'utf8')) as { format?: string; sha256?: string; size?: number };
    if (c.format === VERIFY_CACHE_FORMAT && c.sha256 === key.sha256 && c.size === key.size) {
      return { runId, ...(c as { summary: Omit<RunSummary, 'runId'> }).summary };
    }
  } catch {
    // No cache yet, or an unreadable one: verify.
  }
  // Every line's hash and link are checked; none needs parsing but the header and the end.
  const { runId: _id, ...summary } = summarise(runId, await scanRunRecord(file, () => undefined, { skip: () => true }));
  try {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ format: VERIFY_CACHE_FORMAT, ...key, summary })}\n`);
    renameSync(tmp, cacheFile);
  } catch {
    // A read-only runs folder: list without caching.
  }
  return { runId, ...summary };
}

async function fileKey(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** One run's header, integrity and case verdicts, its record checked as it streams (its other lines unparsed). */
export async function showRun(runsDirFlag: string | undefined, runId: string): Promise<RunDetail> {
  const runsDir = resolveRunsDir(runsDirFlag);
  const file = runRecordPath(runsDir, runId);
  const cases: RunDetail['cases'] = [];
  const read = await scanRunRecord(
    file,
    (e) => {
      if (e.kind === ENTRY.caseVerdict) {
        const d = e.data as CaseVerdictData;
        cases.push({ id: d.caseId, verdict: d.verdict, reason: d.reason });
      }
      return undefined;
    },
    { skip: (kind) => kind !== ENTRY.caseVerdict },
  );
  return {
    ...summarise(runId, read),
    file,
    lastHash: read.lastHash,
    problem: read.problem,
    header: read.header,
    entryCount: read.entryCount,
    cases,
  };
}

function summarise(runId: string, read: RunRecordScan): RunSummary {
  return {
    runId,
    integrity: read.integrity,
    startedAt: read.header?.startedAt,
    suite: read.header?.suite?.name,
    rig: read.header?.rig?.name,
    status: read.end?.status,
    verdict: read.end?.verdict,
  };
}
