import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzipSync } from 'node:zlib';
import type pg from 'pg';
import { NotFoundError } from '../core/errors.js';
import { ENTRY } from '../core/record/entries.js';
import { type RunRecordRead, readRunRecord, scanRunRecord } from '../core/record/reader.js';
import { RECORD_FILE } from '../core/record/store.js';
import type { CertifyResult } from '../engine/certify.js';
import { ANCHOR_FILE, type ReportsResult, writeReports } from '../engine/reporting.js';
import type { ReportFormat } from '../reports/render.js';
import { inTransaction } from './db.js';

/** A run as the lab database keeps it. */
export interface LabRun {
  id: string;
  job: string | null;
  suite: string;
  seed: number;
  device: string | null;
  firmware: string | null;
  rig: string;
  agent: string | null;
  status: string;
  verdict: string;
  integrity: string;
  recordHash: string | null;
  /** The database user that stored it (an agent's own login). */
  uploadedBy: string;
  uploadedAt: string;
}

/**
 * Stores a finished run once: the record (gzip), its verdict, cases, metrics and report files (by content hash).
 * The record's hash chain is checked first: a TAMPERED or INCOMPLETE record is stored with that integrity and that
 * word as its verdict, so it never counts as a PASS. A second upload for the same job or the same record (a job
 * retried after its lease expired) stores nothing: `stored` false.
 */
export async function uploadRun(
  pool: pg.Pool,
  job: string,
  result: CertifyResult,
  o: { agent: string; device?: string },
): Promise<{ stored: boolean; integrity: string; verdict: string }> {
  const file = join(result.runDir, RECORD_FILE);
  const { record, firmware, verdicts } = await scanForUpload(file);
  const recordGz = await gzipFile(file);
  const verdict = record.integrity === 'OK' ? result.verdict : record.integrity;
  const anchorFile = join(result.runDir, ANCHOR_FILE);
  const anchor = existsSync(anchorFile) ? readFileSync(anchorFile, 'utf8') : null;
  const metrics = verdicts.flatMap((d) =>
    Object.entries(d.metrics ?? {}).map(([metric, value]) => ({
      caseId: d.caseId,
      metric,
      value: typeof value === 'number' && Number.isFinite(value) ? value : null,
    })),
  );
  const stored = await inTransaction(pool, async (c) => {
    const ins = await c.query(
      `INSERT INTO bench.runs (id, job, record_hash, suite, seed, device, firmware, rig, agent, status, verdict, integrity,
         exit_code, record_gz, anchor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        result.runId,
        job,
        result.recordHash ?? record.lastHash,
        result.suite,
        result.seed,
        o.device ?? null,
        firmware ?? null,
        result.rig,
        o.agent,
        result.status,
        verdict,
        record.integrity,
        result.exitCode,
        recordGz,
        anchor,
      ],
    );
    if (!ins.rowCount) return false;
    for (const cs of result.cases)
      await c.query('INSERT INTO bench.cases (run, case_id, status, verdict) VALUES ($1, $2, $3, $4)', [
        result.runId,
        cs.id,
        cs.status,
        record.integrity === 'OK' ? cs.verdict : record.integrity,
      ]);
    for (const m of metrics)
      await c.query(
        'INSERT INTO bench.metrics (run, case_id, metric, value) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [result.runId, m.caseId, m.metric, m.value],
      );
    for (const r of result.reports) {
      const content = readFileSync(r.file);
      const sha256 = createHash('sha256').update(content).digest('hex');
      await c.query('INSERT INTO bench.files (sha256, content) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        sha256,
        content,
      ]);
      await c.query('INSERT INTO bench.reports (run, name, sha256) VALUES ($1, $2, $3)', [
        result.runId,
        basename(r.file),
        sha256,
      ]);
    }
    return true;
  });
  return { stored, integrity: record.integrity, verdict };
}

/**
 * What the lab keeps of a record besides its bytes, in one streamed pass (a week's record is hundreds of MB): the
 * chain's integrity, the DUT's firmware as the run identified it (the record has several identity entries: ledger,
 * DUT) and each case's verdict entry. Every other line is only hash-checked.
 */
async function scanForUpload(file: string) {
  let firmware: string | undefined;
  const verdicts: Array<{ caseId: string; metrics?: Record<string, unknown> }> = [];
  const record = await scanRunRecord(
    file,
    (e) => {
      if (e.kind === ENTRY.identity)
        firmware ??= (e.data as { dut?: { firmwareVersion?: string } }).dut?.firmwareVersion || undefined;
      else if (e.kind === ENTRY.caseVerdict) verdicts.push(e.data as (typeof verdicts)[number]);
      return undefined;
    },
    { skip: (kind) => kind !== ENTRY.identity && kind !== ENTRY.caseVerdict },
  );
  return { record, firmware, verdicts };
}

/** The record gzipped as it streams from disk: only the compressed bytes are held. */
async function gzipFile(file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(createReadStream(file), createGzip(), async (gz: AsyncIterable<Buffer>) => {
    for await (const chunk of gz) chunks.push(chunk);
  });
  return Buffer.concat(chunks);
}

const RUN_COLUMNS = `id, job, suite, seed::float8 AS seed, device, firmware, rig, agent, status, verdict, integrity,
  record_hash AS "recordHash", uploaded_by AS "uploadedBy", to_char(uploaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "uploadedAt"`;

export async function listRuns(
  pool: pg.Pool,
  filter: { suite?: string; device?: string; limit?: number } = {},
): Promise<LabRun[]> {
  const r = await pool.query<LabRun>(
    `SELECT ${RUN_COLUMNS} FROM bench.runs
     WHERE ($1::text IS NULL OR suite = $1) AND ($2::text IS NULL OR device = $2)
     ORDER BY uploaded_at DESC, id DESC LIMIT $3`,
    [filter.suite ?? null, filter.device ?? null, filter.limit ?? 100],
  );
  return r.rows;
}

/**
 * One run with its cases and metrics; the stored record is read back and its hash chain checked again (what the
 * database holds, not what the agent said).
 */
export async function showRun(pool: pg.Pool, id: string) {
  const run = (await pool.query<LabRun>(`SELECT ${RUN_COLUMNS} FROM bench.runs WHERE id = $1`, [id])).rows[0];
  if (!run)
    throw new NotFoundError(
      `the lab has no run ${id}`,
      [{ file: id, message: 'unknown run' }],
      ['List runs with `bench lab runs`.'],
    );
  const cases = (
    await pool.query<{ caseId: string; status: string; verdict: string }>(
      'SELECT case_id AS "caseId", status, verdict FROM bench.cases WHERE run = $1 ORDER BY case_id',
      [id],
    )
  ).rows;
  const metrics = (
    await pool.query<{ caseId: string; metric: string; value: number | null }>(
      'SELECT case_id AS "caseId", metric, value FROM bench.metrics WHERE run = $1 ORDER BY case_id, metric',
      [id],
    )
  ).rows;
  const reports = (
    await pool.query<{ name: string; sha256: string }>(
      'SELECT name, sha256 FROM bench.reports WHERE run = $1 ORDER BY name',
      [id],
    )
  ).rows;
  const stored = await storedRecord(pool, id);
  return { ...run, storedIntegrity: stored.integrity, cases, metrics, reports };
}

/** The run's record as stored, decompressed and verified. */
export async function storedRecord(pool: pg.Pool, id: string): Promise<RunRecordRead> {
  return withStoredRun(pool, id, (runsDir) => readRunRecord(join(runsDir, id, RECORD_FILE)));
}

/**
 * Re-renders a run's reports from the database (`bench lab report`): its stored record and anchor receipt laid out
 * as a run directory, then the same renderers as `bench report`.
 */
export async function labReport(
  pool: pg.Pool,
  id: string,
  o: { formats: readonly ReportFormat[]; reportsDir: string },
): Promise<ReportsResult> {
  return withStoredRun(pool, id, (runsDir) =>
    writeReports({ runsDir, runId: id, reportsDir: o.reportsDir, formats: o.formats }),
  );
}

async function withStoredRun<T>(pool: pg.Pool, id: string, fn: (runsDir: string) => T | Promise<T>): Promise<T> {
  const row = (
    await pool.query<{ gz: Buffer; anchor: string | null }>(
      'SELECT record_gz AS gz, anchor FROM bench.runs WHERE id = $1',
      [id],
    )
  ).rows[0];
  if (!row)
    throw new NotFoundError(
      `the lab has no run ${id}`,
      [{ file: id, message: 'unknown run' }],
      ['List runs with `bench lab runs`.'],
    );
  const runsDir = mkdtempSync(join(tmpdir(), 'bench-lab-run-'));
  try {
    mkdirSync(join(runsDir, id));
    writeFileSync(join(runsDir, id, RECORD_FILE), gunzipSync(row.gz));
    if (row.anchor) writeFileSync(join(runsDir, id, ANCHOR_FILE), row.anchor);
    return await fn(runsDir);
  } finally {
    rmSync(runsDir, { recursive: true, force: true });
  }
}
