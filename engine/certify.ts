import { join } from 'node:path';
import createDebug from 'debug';
import type { CaseAnalysis } from '../analysis/case-analysis.js';
import type { CaseEntries } from '../analysis/case-entries.js';
import { analyseCaseAsync } from '../analysis/registry.js';
import { ExitCode, InputError, isBenchError, RigError } from '../core/errors.js';
import { ENTRY } from '../core/record/entries.js';
import { createRun, resolveRunsDir } from '../core/record/store.js';
import { type DeclaredDut, RUN_RECORD_FORMAT, type Verdict } from '../core/record/types.js';
import type { Rig, RigIdentity } from '../core/rig.js';
import { TOOL_VERSION } from '../core/version.js';
import { ANCHOR_RECEIPT_FORMAT, withAnchor } from '../reports/model.js';
import { REPORT_FILE, type ReportFormat } from '../reports/render.js';
import { type PreparedCase, type ProgressSink, runSuite, type SuiteOutcome } from './executor.js';
import type { LabIdentity } from './lab.js';
import { type LedgerIdentity, LedgerSession } from './ledger-session.js';
import {
  readAnchorReceipt,
  readReportModel,
  type WrittenReport,
  writeAnchorReceipt,
  writeReports,
} from './reporting.js';
import { type TsdbStats, TsdbTap } from './sinks/tsdb-tap.js';
import { type LoadedSuite, resolveSuite, type SuiteCase } from './suite.js';

const debug = createDebug('bench:certify');

export interface CertifyOptions {
  suite: string;
  rig: string;
  seed: number;
  meterConfig?: string;
  /** Scenario seconds per wall second on rigs with instruments (emulators started with the same scale). */
  timeScale?: number;
  /** Worker threads for the simulated rig's meters (0: on the main thread); the record is the same either way. */
  workers?: number;
  /** External JSON-RPC endpoint; embedded Ganache when absent. */
  ledger?: string;
  /** The lab and its operator, printed on the certificate (resolveLab: --lab-config, --lab, --operator). */
  lab?: LabIdentity;
  /** Deployment file of the external ledger's contracts (default: the one `bench ledger deploy` saved, if any). */
  deployment?: string;
  /** InfluxDB-protocol endpoint (InfluxDB, VictoriaMetrics) that receives the run's observations live. */
  tsdb?: string;
  runsDir?: string;
  reportsDir?: string;
  formats: readonly ReportFormat[];
  only?: readonly string[];
  signal: AbortSignal;
  progress?: ProgressSink;
  argv: readonly string[];
}

/** The parts of a certification that depend on what is under test; the built-in sim and real rigs provide them. */
export interface RigInfo {
  name: string;
  file?: string;
  /** sha256 of the rig definition (the file, or the built-in rig's YAML). */
  sha256: string;
  /** The meter under test as the rig file declares it (vendor, model, serial, firmware). */
  dut?: DeclaredDut;
}

export interface RigBinding {
  rig: Rig;
  /** Turns a case into the plan the rig runs and the ground truth recorded before it runs. */
  prepareCase(
    c: SuiteCase,
    caseSeed: number,
    params: Record<string, unknown>,
    suiteFile: string,
  ): Promise<PreparedCase>;
}

export interface RigProvider {
  /**
   * Reads and validates the rig reference (built-in name or file) and the flags that must suit it; input errors
   * surface here, before any run exists.
   */
  describe(ref: string, flags?: { meterConfig?: string; timeScale?: number }): RigInfo | Promise<RigInfo>;
  bind(opts: {
    rig: RigInfo;
    seed: number;
    meterConfig?: string;
    timeScale?: number;
    workers?: number;
    ledger: LedgerSession;
    suite: LoadedSuite;
  }): Promise<RigBinding>;
}

export interface CaseSummary {
  id: string;
  title: string;
  verdict: Verdict;
  status: string;
  reason?: string;
  failed: string[];
  /** The criteria that made the case MARGINAL: measured past the PASS band, inside the limit. */
  marginal: string[];
}

export interface CertifyResult {
  runId: string;
  runDir: string;
  suite: string;
  rig: string;
  seed: number;
  status: SuiteOutcome['status'];
  verdict: Verdict;
  exitCode: number;
  recordHash?: string;
  cases: CaseSummary[];
  reports: WrittenReport[];
  reportsDir: string;
  anchor?: { reportSha256: string; txHash: string; block: number };
  tsdb?: TsdbStats & { spoolFile: string };
  ledger: {
    chainId: string;
    kind: string;
    url?: string;
    billingLedger: string;
    deployment: LedgerIdentity['deployment'];
  };
}

/** ReportAnchor's verdict codes (1..5; 0 means "no anchor" on chain). */
const VERDICT_CODE: Record<Verdict, number> = { PASS: 1, MARGINAL: 2, FAIL: 3, ERROR: 4, 'NOT RUN': 5 };

/**
 * Analysis of one case: every metric the entries support (pure; the executor calls it right after the case). It
 * yields between stages: a long case's analysis must not hold the process's event loop for seconds.
 */
export async function measureCase(_c: SuiteCase, entries: CaseEntries, params: Record<string, unknown>) {
  return (await analyseCaseAsync(entries, params)).metrics;
}

/**
 * measureCase that keeps each case's whole analysis for the run's reports, which then need not parse and analyse
 * the case's entries again from the record (most of the time a long run's reports took). A case with no entries
 * is left to the report, which shows no analysis for it.
 */
function measuringInto(analysed: Map<string, CaseAnalysis>) {
  return async (c: SuiteCase, entries: CaseEntries, params: Record<string, unknown>) => {
    const analysis = await analyseCaseAsync(entries, params);
    if (entries.size > 0) analysed.set(c.id, analysis);
    return analysis.metrics;
  };
}

/**
 * One certification run: suite × rig × meter × ledger → RunRecord → verdicts → reports → the JSON report's hash
 * anchored on the ledger. Input problems surface before any run is created; once it exists, a record is always
 * closed, whatever fails.
 */
export async function certify(opts: CertifyOptions, provider: RigProvider): Promise<CertifyResult> {
  const suite = resolveSuite(opts.suite);
  const rigInfo = await provider.describe(opts.rig, { meterConfig: opts.meterConfig, timeScale: opts.timeScale });
  checkRunFlags(opts, suite);
  const runsDir = resolveRunsDir(opts.runsDir);
  const { runId, dir, writer } = createRun(runsDir, {
    format: RUN_RECORD_FORMAT,
    tool: { name: 'bench', version: TOOL_VERSION },
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    argv: opts.argv,
    seeds: { run: opts.seed },
    suite: {
      name: suite.suite.name,
      title: suite.suite.title,
      version: suite.suite.version,
      file: suite.file,
      sha256: suite.sha256,
      cases: suite.suite.cases.map((c) => c.id),
    },
    rig: rigInfo,
    ...(opts.lab ? { lab: opts.lab } : {}),
  });
  debug('run %s started', runId);
  let ledger: LedgerSession | undefined;
  let binding: RigBinding | undefined;
  let outcome: SuiteOutcome;
  const analysed = new Map<string, CaseAnalysis>();
  const tsdbSpool = join(dir, 'tsdb-spool.lp');
  const tap = opts.tsdb ? new TsdbTap(opts.tsdb, runId, tsdbSpool) : undefined;
  let tsdb: CertifyResult['tsdb'];
  try {
    ledger = await LedgerSession.open({ ledger: opts.ledger, deploymentFile: opts.deployment });
    writer.append(ENTRY.identity, { ledger: ledger.identity });
    binding = await provider.bind({
      rig: rigInfo,
      seed: opts.seed,
      meterConfig: opts.meterConfig,
      timeScale: opts.timeScale,
      workers: opts.workers,
      ledger,
      suite,
    });
    const { rig } = binding;
    let identity: RigIdentity;
    try {
      identity = await rig.open();
    } catch (e) {
      throw isBenchError(e) ? e : new RigError(`rig ${rig.name} failed to open: ${(e as Error).message}`, { cause: e });
    }
    writer.append(ENTRY.identity, { dut: identity.dut, instruments: identity.instruments });
    const b = binding;
    const l = ledger;
    let fromBlock = 0;
    outcome = await runSuite({
      suite,
      rig,
      writer,
      seed: opts.seed,
      signal: opts.signal,
      progress: opts.progress,
      only: opts.only,
      prepareCase: async (c, caseSeed, params) => {
        fromBlock = (await l.blockNumber()) + 1;
        return b.prepareCase(c, caseSeed, params, suite.file);
      },
      measure: measuringInto(analysed),
      collect: async (_c, observe) => {
        await l.collect(fromBlock, observe);
        // Each case's points leave at its end; an unreachable server only moves them to the spool.
        await tap?.flush();
      },
      tap: tap ? (kind, data) => tap.observe(kind, data) : undefined,
    });
    if (tap) tsdb = { ...(await tap.close()), spoolFile: tsdbSpool };
  } catch (e) {
    // Infrastructure failed outside any case (ledger, rig open, a bench bug): the record still ends, marked so it
    // can never read as a verdict, and the error goes up with its exit code.
    if (writer.isOpen) writer.close({ status: 'ABORTED', verdict: 'ERROR', reason: (e as Error).message });
    await tap?.close().catch((err) => debug('tsdb close failed: %O', err));
    await binding?.rig.close().catch((err) => debug('rig close failed: %O', err));
    await ledger?.close().catch((err) => debug('ledger close failed: %O', err));
    throw e;
  }
  try {
    // The JSON report is what the ledger anchors; the certificate (HTML, and its print, the PDF) is rendered after
    // it, so it can show the anchor's receipt (kept beside the record, which is closed by now, for `bench report`
    // to re-render the same).
    const showsAnchor = (f: ReportFormat) => f === 'html' || f === 'pdf';
    const first = opts.formats.filter((f) => !showsAnchor(f));
    const certificates = opts.formats.filter(showsAnchor);
    // The record is read (and its chain checked) once for every report, with each case's analysis from when it
    // ended; the certificates add the anchor's receipt to it.
    const model = await readReportModel(runsDir, runId, analysed);
    const written = await writeReports({
      runId,
      runsDir,
      reportsDir: opts.reportsDir,
      formats: first,
      model,
    });
    const json = written.reports.find((r) => r.format === 'json');
    let anchor: CertifyResult['anchor'];
    if (json && outcome.status === 'COMPLETE') {
      const a = await ledger.anchorReport(runId, json.sha256, VERDICT_CODE[outcome.verdict]);
      anchor = { reportSha256: json.sha256, ...a };
      const id = ledger.identity;
      writeAnchorReceipt(dir, {
        format: ANCHOR_RECEIPT_FORMAT,
        runId,
        report: REPORT_FILE.json,
        reportSha256: json.sha256,
        verdictCode: VERDICT_CODE[outcome.verdict],
        chainId: id.chainId,
        ledger: id.kind,
        ...(id.url ? { url: id.url } : {}),
        contract: id.contracts.ReportAnchor,
        txHash: a.txHash,
        block: a.block,
      });
    }
    if (certificates.length > 0) {
      const html = await writeReports({
        runId,
        runsDir,
        reportsDir: opts.reportsDir,
        formats: certificates,
        model: withAnchor(model, readAnchorReceipt(dir)),
      });
      written.reports.push(...html.reports);
    }
    written.reports.sort((a, b) => opts.formats.indexOf(a.format) - opts.formats.indexOf(b.format));
    return {
      runId,
      runDir: dir,
      suite: suite.suite.name,
      rig: binding.rig.name,
      seed: opts.seed,
      status: outcome.status,
      verdict: outcome.verdict,
      exitCode: outcome.status === 'COMPLETE' ? exitCodeOf(outcome.verdict) : ExitCode.FAIL,
      recordHash: written.recordHash,
      cases: outcome.cases.map((c) => ({
        id: c.caseId,
        title: c.title,
        verdict: c.verdict,
        status: c.status,
        reason: c.reason,
        failed: c.criteria
          .filter((cr) => cr.verdict === 'FAIL' || cr.verdict === 'ERROR')
          .map((cr) => `${cr.metric}=${cr.measured ?? cr.reason ?? '?'} (${cr.op} ${JSON.stringify(cr.limit)})`),
        marginal: c.criteria
          .filter((cr) => cr.verdict === 'MARGINAL')
          .map(
            (cr) =>
              `${cr.metric}=${cr.measured} (PASS ${cr.op} ${JSON.stringify(cr.marginal)}, limit ${JSON.stringify(cr.limit)})`,
          ),
      })),
      reports: written.reports,
      reportsDir: written.dir,
      anchor,
      tsdb,
      ledger: {
        chainId: ledger.identity.chainId,
        kind: ledger.identity.kind,
        url: ledger.identity.url,
        billingLedger: ledger.identity.contracts.BillingLedger,
        deployment: ledger.identity.deployment,
      },
    };
  } finally {
    await binding.rig.close().catch((e) => debug('rig close failed: %O', e));
    await ledger.close().catch((e) => debug('ledger close failed: %O', e));
  }
}

/** The flags that name things the run will use, checked before the run directory exists (exit 2, nothing left). */
function checkRunFlags(opts: CertifyOptions, suite: LoadedSuite): void {
  const ids = suite.suite.cases.map((c) => c.id);
  const unknown = (opts.only ?? []).filter((id) => !ids.includes(id));
  if (unknown.length)
    throw new InputError(
      `--case ${unknown.join(', ')}: no such case in suite ${suite.suite.name}`,
      unknown.map((id) => ({ file: suite.file, field: 'cases', message: `no case ${id}` })),
      [`Cases of ${suite.suite.name}: ${ids.join(', ')} (\`bench suite show ${suite.suite.name}\`).`],
    );
  for (const [flag, url, example] of [
    ['--tsdb', opts.tsdb, 'http://127.0.0.1:8428'],
    ['--ledger', opts.ledger, 'http://127.0.0.1:8545'],
  ] as const) {
    if (url === undefined) continue;
    let protocol: string | undefined;
    try {
      protocol = new URL(url).protocol;
    } catch {}
    if (protocol !== 'http:' && protocol !== 'https:')
      throw new InputError(
        `${flag} ${url}: not an http(s) URL`,
        [{ file: flag, message: 'not an http(s) URL' }],
        [`Give the server's URL, e.g. ${flag} ${example}.`],
      );
  }
}

function exitCodeOf(v: Verdict): number {
  if (v === 'PASS' || v === 'MARGINAL') return ExitCode.PASS;
  if (v === 'ERROR') return ExitCode.RIG;
  return ExitCode.FAIL;
}
