/**
 * Limits users can trust (issue 13, items 1 and 7), on the `sim` rig:
 * - classes × gain errors: a reference meter with a gain error just outside its class MPE FAILs, just inside it does
 *   not, for every MID class; the MPEs and the limits come from the standards table and the loaded suite, never from
 *   numbers written here;
 * - mutation table: each numeric fault knob (gain, added latency, clock drift) just past the limit of the criterion
 *   that checks it FAILs that criterion, and just inside does not.
 * Magnitudes are ±10 % of the limit beyond the healthy meter's own error, measured first on the same case and seed.
 */

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { evaluateCase } from '../../../analysis/criteria.js';
import { analyseCase } from '../../../analysis/registry.js';
import { MID_CLASSES, type MidClass, midMpe } from '../../../analysis/standards/mid.js';
import { defaultTariff } from '../../../billing/tariff.js';
import { readRunRecord } from '../../../core/record/reader.js';
import { RECORD_FILE } from '../../../core/record/store.js';
import { type CertifyResult, certify } from '../../../engine/certify.js';
import { rigProvider } from '../../../engine/rig-provider.js';
import { BUILTIN_SUITES_DIR, resolveSuite, type SuiteCase, suiteSchema } from '../../../engine/suite.js';
import { openChain } from '../../../ledger/chain.js';
import { deployLedger, saveDeployment } from '../../../ledger/contracts.js';
import { meterConfigSchema } from '../../../meter/config.js';
import { freePort, startLedgerNode, stopLedgerNode } from '../../support/ledger-node.js';

const dir = mkdtempSync(join(tmpdir(), 'limits-'));
let ledgerNode: ChildProcess | undefined;
let ledger: string;
const deployment = join(dir, 'deployment.json');
let n = 0;

beforeAll(async () => {
  // One JSON-RPC node for every run: an embedded chain per run would add its start-up to each.
  const port = await freePort();
  ledgerNode = await startLedgerNode({ port, dbPath: join(dir, 'chain') });
  ledger = `http://127.0.0.1:${port}`;
  // The contracts deployed once for this node, named explicitly: certify on an external chain otherwise looks for a
  // deployment saved under the working directory (.bench/), which belongs to whoever ran `bench ledger deploy` there.
  const chain = await openChain({ ledger });
  try {
    saveDeployment(deployment, await deployLedger(chain, { tariff: defaultTariff() }));
  } finally {
    await chain.close();
  }
});
afterAll(() => stopLedgerNode(ledgerNode));

async function run(suite: string, caseId: string, faults: Record<string, unknown>): Promise<CertifyResult> {
  const meterConfig = join(dir, `meter-${n++}.yaml`);
  writeFileSync(meterConfig, JSON.stringify({ faults }));
  return certify(
    {
      suite,
      rig: 'sim',
      seed: 11,
      meterConfig,
      ledger,
      deployment,
      runsDir: join(dir, 'runs'),
      reportsDir: join(dir, 'reports'),
      formats: ['json'],
      only: [caseId],
      signal: new AbortController().signal,
      argv: [],
    },
    rigProvider,
  );
}

const healthyRuns = new Map<string, Promise<CertifyResult>>();

/** The healthy meter on a case (once per file): the baseline its own errors give. */
async function healthy(suite: string, caseId: string): Promise<CertifyResult> {
  const key = `${suite}/${caseId}`;
  if (!healthyRuns.has(key)) healthyRuns.set(key, run(suite, caseId, {}));
  const r = await healthyRuns.get(key)!;
  expect(r.verdict).toBe('PASS');
  return r;
}

function caseOf(suite: string, caseId: string): SuiteCase {
  return resolveSuite(suite).suite.cases.find((c) => c.id === caseId)!;
}

/** The case's criteria and parameters as the built-in suite states them, for another MID class. */
function caseForClass(suite: string, caseId: string, midClass: MidClass) {
  const raw = parse(readFileSync(join(BUILTIN_SUITES_DIR, `${suite}.yaml`), 'utf8'));
  const s = suiteSchema.parse({ ...raw, parameters: { ...raw.parameters, midClass } });
  const c = s.cases.find((x) => x.id === caseId)!;
  return { criteria: c.criteria, params: { ...s.parameters, ...c.params } };
}

function entriesOf(r: CertifyResult, caseId: string) {
  const record = readRunRecord(join(r.runDir, RECORD_FILE));
  expect(record.integrity).toBe('OK');
  return record.entries
    .filter((e) => (e.data as { caseId?: string }).caseId === caseId)
    .map((e) => ({ kind: e.kind, data: e.data as Record<string, unknown> }));
}

function limitOf(c: SuiteCase, metric: string): number {
  const cr = c.criteria.find((x) => x.metric === metric);
  expect(cr, `${c.id} checks ${metric}`).toBeDefined();
  expect(typeof cr!.limit).toBe('number');
  return cr!.limit as number;
}

function measured(r: CertifyResult, caseId: string, metric: string): number {
  const report = JSON.parse(readFileSync(r.reports.find((x) => x.format === 'json')!.file, 'utf8'));
  const c = report.cases.find((x: { id: string }) => x.id === caseId);
  return c.metrics[metric] as number;
}

function verdictOn(r: CertifyResult, caseId: string, metric: string): string {
  const report = JSON.parse(readFileSync(r.reports.find((x) => x.format === 'json')!.file, 'utf8'));
  const c = report.cases.find((x: { id: string }) => x.id === caseId);
  return c.criteria.find((x: { metric: string }) => x.metric === metric).verdict;
}

/** The meter's default clock sync interval (s), as the sim rig's reference meter runs it. */
const SYNC_S = meterConfigSchema.parse({}).clockSyncIntervalS;
const EV_SUITE = 'ev-billing';
const EV_CASE = 'ev-at-home';
const EV_METRIC = 'energy.ev_error_pct_max';

describe('MID class × gain error, ev-billing ev-at-home (an EV draws Itr ≤ I ≤ Imax)', () => {
  let baselinePct: number;
  const rows: Array<Record<string, string | number>> = [];

  beforeAll(async () => {
    baselinePct = measured(await healthy(EV_SUITE, EV_CASE), EV_CASE, EV_METRIC);
  });
  afterAll(() => {
    // The measured table, for the record (vitest prints it with the test output).
    console.table(rows);
  });

  // Each class gives two gain errors: 10 % of its MPE inside and outside the limit, beyond the healthy meter's own
  // error; signs alternate so a meter reading low is judged as one reading high. Every run is judged for all classes.
  const points = MID_CLASSES.flatMap((cls, i) => [
    { cls, side: 'inside' as const, sign: i % 2 ? -1 : 1 },
    { cls, side: 'outside' as const, sign: i % 2 ? 1 : -1 },
  ]);

  it.each(points)('class $cls MPE, gain just $side it (sign $sign)', async ({ cls, side, sign }) => {
    const mpe = midMpe({ midClass: cls, current: 'itr-imax' }).mpePct;
    const size = side === 'inside' ? 0.9 * mpe - baselinePct : 1.1 * mpe + baselinePct;
    const gainErrorPct = sign * size;
    const r = await run(EV_SUITE, EV_CASE, { gainErrorPct });
    const entries = entriesOf(r, EV_CASE);
    for (const judged of MID_CLASSES) {
      const { criteria, params } = caseForClass(EV_SUITE, EV_CASE, judged);
      const limit = midMpe({ midClass: judged, current: 'itr-imax' }).mpePct;
      const evaluation = evaluateCase(criteria, analyseCase(entries, params).metrics);
      const ev = evaluation.criteria.find((c) => c.metric === EV_METRIC)!;
      const billed = evaluation.criteria.find((c) => c.metric === 'billing.energy_mismatch')!;
      expect(ev.limit).toBe(limit);
      rows.push({
        gainErrorPct: +gainErrorPct.toFixed(4),
        class: judged,
        mpe: limit,
        measured: +ev.measured!.toFixed(4),
        verdict: evaluation.verdict,
      });
      if (Math.abs(gainErrorPct) > limit) {
        expect([judged, evaluation.verdict, ev.verdict, billed.verdict]).toEqual([judged, 'FAIL', 'FAIL', 'FAIL']);
      } else {
        expect([judged, ev.verdict, billed.verdict]).toEqual([
          judged,
          expect.stringMatching(/^(PASS|MARGINAL)$/),
          'PASS',
        ]);
        expect(evaluation.verdict).not.toBe('FAIL');
      }
      // The run itself was judged by the built-in suite (class B): the same verdict as the re-analysis.
      if (judged === resolveSuite(EV_SUITE).suite.parameters.midClass) expect(r.verdict).toBe(evaluation.verdict);
    }
  });
});

describe('mutation table: numeric fault knobs just past / just inside the limit they violate', () => {
  // [knob, suite, case, metric, knob value for a metric value `target`, given the healthy value `base`]
  const TABLE: Array<[string, string, string, string, (target: number, base: number) => Record<string, number>]> = [
    // Energy error ≈ |gain| + the healthy meter's own error (the class table above covers the other classes).
    ['gainErrorPct', EV_SUITE, EV_CASE, EV_METRIC, (t, b) => ({ gainErrorPct: t - b })],
    // Detection latency adds to the meter's own decision time.
    ['addedLatencyMs', EV_SUITE, EV_CASE, 'latency.p99_s', (t, b) => ({ addedLatencyMs: (t - b) * 1000 })],
    // The offset grows by drift × the time since the last sync, up to the meter's sync interval (a report goes out
    // just before each sync, so the worst offset is seen).
    [
      'clockDriftPpm',
      'ev-charging-aspects',
      'clock',
      'clock.max_offset_s',
      (t, b) => ({ clockDriftPpm: (t - b) / (1e-6 * SYNC_S) }),
    ],
  ];
  const rows: Array<Record<string, string | number>> = [];
  afterAll(() => {
    console.table(rows);
  });

  it.each(TABLE)('%s', async (knob, suite, caseId, metric, knobFor) => {
    const limit = limitOf(caseOf(suite, caseId), metric);
    const base = measured(await healthy(suite, caseId), caseId, metric);
    for (const [side, target] of [
      ['past', 1.1 * limit],
      ['inside', 0.9 * limit],
    ] as const) {
      const faults = knobFor(target, base);
      const r = await run(suite, caseId, faults);
      const verdict = verdictOn(r, caseId, metric);
      rows.push({
        knob,
        value: +faults[knob]!.toFixed(4),
        metric,
        base,
        limit,
        measured: measured(r, caseId, metric),
        verdict,
      });
      if (side === 'past') {
        expect({ knob, side, verdict, exit: r.exitCode }).toEqual({ knob, side, verdict: 'FAIL', exit: 1 });
      } else {
        expect({ knob, side, verdict }).toEqual({ knob, side, verdict: expect.stringMatching(/^(PASS|MARGINAL)$/) });
        expect(r.verdict).not.toBe('FAIL');
      }
    }
  });
});
