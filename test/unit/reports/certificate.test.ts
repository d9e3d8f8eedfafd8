import { describe, expect, it } from 'vitest';
import type { CaseAnalysis } from '../../../analysis/case-analysis.js';
import type { CriterionResult } from '../../../analysis/criteria.js';
import type { RunHeader, Verdict } from '../../../core/record/types.js';
import { anchorRows, conformityStatement, dutRows, labRows } from '../../../reports/certificate.js';
import { caseCharts, latencySpec, renderSvg } from '../../../reports/charts.js';
import { renderHtml } from '../../../reports/html.js';
import type { ReportCase, ReportModel, ReportOutcome } from '../../../reports/model.js';
import { testHeader } from '../../support/header.js';

const header = (over: Partial<RunHeader> = {}): RunHeader => ({
  ...testHeader(3),
  runId: 'run-1',
  startedAt: '2026-12-02T10:00:00.000Z',
  suite: { name: 's', title: 'Suite S', version: 2, file: 's.yaml', sha256: 'a'.repeat(64), cases: ['c1', 'c2'] },
  rig: { name: 'lab-a', sha256: 'b'.repeat(64) },
  ...over,
});

const criterion = (metric: string, verdict: Verdict = 'PASS'): CriterionResult =>
  ({ metric, verdict, measured: 0, op: '==', limit: 0, unit: 'count' }) as CriterionResult;

function reportCase(id: string, verdict: Verdict, metrics: string[] = [], analysis?: CaseAnalysis): ReportCase {
  return {
    id,
    title: id,
    status: 'COMPLETE',
    verdict,
    criteria: metrics.map((m) => criterion(m, verdict)),
    metrics: {},
    params: {},
    analysis,
  };
}

function model(outcome: ReportOutcome, cases: ReportCase[], over: Partial<ReportModel> = {}): ReportModel {
  const counts: Record<Verdict, number> = { PASS: 0, MARGINAL: 0, FAIL: 0, ERROR: 0, 'NOT RUN': 0 };
  for (const c of cases) counts[c.verdict]++;
  return {
    schema: 'bench.report/1',
    runId: 'run-1',
    outcome,
    integrity: outcome === 'INCOMPLETE' ? 'INCOMPLETE' : outcome === 'TAMPERED' ? 'TAMPERED' : 'OK',
    recordHash: 'c'.repeat(64),
    endedAt: '2026-12-02T10:05:00.000Z',
    header: header(),
    identities: {},
    cases,
    counts,
    ...over,
  };
}

describe('conformity statement', () => {
  it('states conformity only for a PASS of every case of the suite', () => {
    const all = conformityStatement(model('PASS', [reportCase('c1', 'PASS'), reportCase('c2', 'PASS')]));
    expect(all.conforms).toBe(true);
    expect(all.text).toMatch(/^The meter under test conforms to the criteria of Suite S \(suite s version 2/);

    const partial = conformityStatement(model('PASS', [reportCase('c1', 'PASS')]));
    expect(partial.conforms).toBe(false);
    expect(partial.text).toContain('1 case was not run (c2)');
    expect(partial.text).toContain('No statement of conformity');
  });

  it.each([
    ['MARGINAL', 'MARGINAL', /No statement of conformity is made; the marginal results need review/],
    ['FAIL', 'FAIL', /does not conform to Suite S .*: 1 of 2 cases failed \(c2\)/],
    ['ERROR', 'ERROR', /No statement of conformity: the run ended in a bench or rig error \(c2\)/],
    ['NOT RUN', 'NOT RUN', /No statement of conformity: rig lab-a could not run/],
    ['INCOMPLETE', 'ERROR', /record is incomplete/],
    ['TAMPERED', 'PASS', /fails its integrity check/],
  ] as const)('%s never claims conformity', (outcome, second, text) => {
    const s = conformityStatement(model(outcome, [reportCase('c1', 'PASS'), reportCase('c2', second)]));
    expect(s.conforms).toBe(false);
    expect(s.text).toMatch(text);
    expect(s.text).not.toMatch(/\bconforms to\b/);
  });
});

describe('certificate identity', () => {
  it('shows what the device answers beside what the rig file declares, and says where each comes from', () => {
    const m = model('PASS', [], {
      header: header({
        rig: { name: 'lab-a', sha256: 'b'.repeat(64), dut: { vendor: 'ACME', serial: 'SN-1', firmware: '2.0.0' } },
      }),
      identities: { dut: { model: 'EM-3', firmwareVersion: '2.0.1', firmwareHash: '0xfeed', address: '0xabc' } },
    });
    const rows = Object.fromEntries(dutRows(m).map((r) => [r.label, r]));
    expect(rows.Vendor).toMatchObject({ value: 'ACME', source: 'declared in the rig file' });
    expect(rows.Model).toMatchObject({ value: 'EM-3', source: 'reported by the device' });
    expect(rows['Serial number']).toMatchObject({ value: 'SN-1' });
    // A device running other firmware than the rig file states: both are on the certificate.
    expect(rows.Firmware).toMatchObject({
      value: '2.0.1',
      source: 'reported by the device; the rig file declares 2.0.0',
    });
    expect(rows['Firmware hash']?.value).toBe('0xfeed');
    expect(rows['Signing key']?.value).toBe('0xabc');
  });

  it('names the lab and operator, and says when none was given', () => {
    expect(labRows(model('PASS', []))).toEqual([
      { label: 'Lab', value: 'not stated', source: 'certify --lab / --lab-config' },
    ]);
    const m = model('PASS', [], {
      header: header({ lab: { name: 'Lab X', accreditation: 'ISO/IEC 17025', operator: 'Ann' } }),
    });
    expect(labRows(m).map((r) => `${r.label}=${r.value}`)).toEqual([
      'Lab=Lab X',
      'Accreditation=ISO/IEC 17025',
      'Operator=Ann',
    ]);
  });

  it('gives the anchor with a verify command, flags an in-memory chain and an anchor of another report', () => {
    const anchor = {
      format: 'bench.anchor/1' as const,
      runId: 'run-1',
      report: 'report.json',
      reportSha256: 'd'.repeat(64),
      verdictCode: 1,
      chainId: '31337',
      ledger: 'external' as const,
      url: 'http://lab-chain:8545',
      contract: `0x${'1'.repeat(40)}`,
      txHash: `0x${'2'.repeat(64)}`,
      block: 42,
    };
    const ext = anchorRows(model('PASS', [], { anchor }));
    const rows = Object.fromEntries(ext.rows.map((r) => [r.label, r]));
    expect(rows.Chain?.value).toBe('chain id 31337, http://lab-chain:8545');
    expect(rows.Block?.value).toBe('42');
    expect(rows.Transaction?.value).toBe(anchor.txHash);
    expect(rows['Verify billing']?.value).toBe('bench ledger verify run-1 --ledger http://lab-chain:8545');
    expect(rows['Anchored report.json']?.source).toBe('does NOT match the JSON report of this record');
    expect(ext.note).toBeUndefined();
    const emb = anchorRows(model('PASS', [], { anchor: { ...anchor, ledger: 'embedded', url: undefined } }));
    expect(emb.note).toContain('cannot be checked later');
    expect(anchorRows(model('PASS', [])).note).toContain('not anchored');
  });
});

const analysis = (over: Partial<CaseAnalysis> = {}): CaseAnalysis => ({
  metrics: {},
  timeline: { power: [{ t: 0, p: 0, meterId: 'm' }] as never, truth: [], detected: [] },
  sections: {},
  ...over,
});
const detection = {
  confusion: { ev: { ev: 2 } },
  latency: { values: [0.18, 0.179999999999945, 0.41] },
  clock: 'meter',
} as unknown as CaseAnalysis['detection'];

describe('charts fit the case', () => {
  it('shows the confusion matrix and latency only for detection and identification cases', () => {
    const titles = (c: ReportCase) => caseCharts(c).map((s) => String(s.title).split(' ')[0]);
    const a = analysis({
      detection,
      energy: { perClassTruthWh: { ev: 5 }, perClassEstimateWh: { ev: 5 }, totalTruthWh: 5, totalMeterWh: 5 },
    });
    expect(titles(reportCase('d', 'PASS', ['detection.f1'], a))).toEqual(['Power', 'Confusion', 'Detection', 'Energy']);
    expect(titles(reportCase('m', 'PASS', ['metrology.max_error_pct'], a))).toEqual(['Power', 'Energy']);
    expect(titles(reportCase('b', 'PASS', ['billing.missing'], a))).toEqual(['Power']);
  });

  it('draws no energy chart where no energy flowed (no-load creep)', () => {
    const creep = analysis({
      energy: { perClassTruthWh: { base: 0 }, perClassEstimateWh: {}, totalTruthWh: 0, totalMeterWh: 0 },
    });
    expect(
      caseCharts(reportCase('no-load-creep', 'PASS', ['metrology.creep_pulses'], creep)).map((s) => s.title),
    ).toEqual(['Power timeline with true and detected events']);
  });

  it('labels the latency axis without float noise', async () => {
    // Two latencies a float hair apart once gave bins 1e-15 s wide, each labelled 0.18 (or 0.179999999999945).
    const noisy = { ...detection, latency: { values: [0.18, 0.179999999999945] } } as CaseAnalysis['detection'];
    const svg = await renderSvg(latencySpec(analysis({ detection: noisy }), 2)!);
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] as string);
    const numeric = labels.filter((x) => /^[\d.,]+$/.test(x));
    expect(numeric.length).toBeGreaterThan(2);
    expect(new Set(numeric).size).toBe(numeric.length);
    for (const l of labels.filter((x) => /^[\d.,]+$/.test(x)))
      expect(l.replace(/[,.]/g, '').replace(/^0+/, '').length).toBeLessThanOrEqual(4);
  });
});

describe('HTML certificate', () => {
  it('prints costs with their currency, identities as tables and a footer from the record', async () => {
    const row = {
      meterId: 'house-1',
      seq: '1',
      payer: '0xp',
      start: 0,
      end: 60,
      importWh: 10,
      exportWh: 0,
      status: 'ok',
      problems: [],
    };
    const billing = (currency?: string) =>
      analysis({ sections: { billing: { rows: [{ ...row, cost: 1.6625, currency }], verification: {} } } });
    const html = await renderHtml(
      model(
        'PASS',
        [reportCase('c1', 'PASS', ['billing.missing'], billing('EUR')), reportCase('c2', 'PASS', [], billing())],
        {
          identities: {
            ledger: { kind: 'embedded', chainId: '1337', contracts: { BillingLedger: `0x${'3'.repeat(40)}` } },
          },
        },
      ),
    );
    expect(html).toContain('<td class="num nowrap">1.66 EUR</td>');
    expect(html).toContain('<td class="num nowrap">1.66 (currency not recorded)</td>');
    expect(html).toContain('<td class="nowrap">== 0 count</td>');
    expect(html).not.toContain('{&quot;');
    expect(html).toContain('<th>BillingLedger</th>');
    expect(html).toContain(
      `<footer>bench test · run run-1 · record sha256 ${'c'.repeat(64)} · record closed 2026-12-02T10:05:00.000Z</footer>`,
    );
    expect(html).toContain('class="statement conforms"');
    // Rendering twice gives the same bytes: nothing comes from the clock.
    expect(await renderHtml(model('PASS', [reportCase('c1', 'PASS')]))).toBe(
      await renderHtml(model('PASS', [reportCase('c1', 'PASS')])),
    );
  });
});
