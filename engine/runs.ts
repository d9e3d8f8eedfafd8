import { readRunRecord } from './record/reader.js';
import { listRunIds, resolveRunsDir, runRecordPath } from './record/store.js';
import type { Integrity, RunHeader, RunStatus, Verdict } from './record/types.js';

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

export function listRuns(runsDirFlag: string | undefined, limit = 50): { runsDir: string; runs: RunSummary[] } {
  const runsDir = resolveRunsDir(runsDirFlag);
  const runs = listRunIds(runsDir)
    .slice(0, limit)
    .map((runId) => summarise(runId, readRunRecord(runRecordPath(runsDir, runId))));
  return { runsDir, runs };
}

export function showRun(runsDirFlag: string | undefined, runId: string): RunDetail {
  const runsDir = resolveRunsDir(runsDirFlag);
  const file = runRecordPath(runsDir, runId);
  const read = readRunRecord(file);
  const cases = read.entries
    .filter((e) => e.kind === 'case.verdict')
    .map((e) => {
      const d = e.data as CaseVerdictData;
      return { id: d.caseId, verdict: d.verdict, reason: d.reason };
    });
  return {
    ...summarise(runId, read),
    file,
    lastHash: read.lastHash,
    problem: read.problem,
    header: read.header,
    entryCount: read.entries.length,
    cases,
  };
}

function summarise(runId: string, read: ReturnType<typeof readRunRecord>): RunSummary {
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
