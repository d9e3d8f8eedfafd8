/**
 * Metrology evidence through the built CLI: each MID test point's error with its expanded uncertainty (GUM, k = 2)
 * and the suite's decision rule (ILAC-G8), on the healthy reference meter and on meters reading high; a reference
 * standard whose calibration is past due ERRORs the metrology case (a lab's rig file, served by `bench sim up`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { midMpe } from '../../../analysis/standards/mid.js';
import { launchChromium } from '../../../engine/pdf.js';
import { resolveSuite } from '../../../engine/suite.js';
import { requireSocat } from '../../../rigs/emulators/pty.js';
import { benchAsync, REPO_ROOT } from '../../support/cli.js';
import { withServedRig } from '../../support/served-rig.js';

const dir = mkdtempSync(join(tmpdir(), 'metrology-'));

/** A system part the test needs: missing, it fails with what to install (never a silent skip). */
function requireCommand(cmd: string, pkg: string) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`]);
  } catch {
    throw new Error(`${cmd} not found: install Debian's ${pkg} (scripts/setup-system.sh does it as root)`);
  }
}

interface Report {
  cases: Array<{ id: string; verdict: string; metrics: Record<string, number>; reason?: string }>;
}

function reportOf(runsDir: string, stdout: string) {
  const runId = /run\s+(\S+)/.exec(stdout)?.[1] ?? '';
  const read = (file: string) => {
    const path = join(runsDir, runId, 'reports', file);
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  };
  return { runId, report: JSON.parse(read('report.json') || '{"cases":[]}') as Report, html: read('report.html') };
}

/** metrology-mid's test points on `sim` with the meter `gainErrorPct` off, under the suite's rule or another. */
async function testPoints(name: string, gainErrorPct: number, rule?: 'simple', formats?: string) {
  const meterConfig = join(dir, `${name}.yaml`);
  writeFileSync(meterConfig, stringify({ faults: { gainErrorPct } }));
  let suite = 'metrology-mid';
  if (rule) {
    const doc = parse(readFileSync(join(REPO_ROOT, 'suites/metrology-mid.yaml'), 'utf8')) as {
      name: string;
      parameters: Record<string, unknown>;
      plan: string;
    };
    doc.name = `metrology-mid-${rule}`;
    doc.parameters.decisionRule = rule;
    doc.plan = join(REPO_ROOT, 'suites', doc.plan);
    suite = join(dir, `${name}-suite.yaml`);
    writeFileSync(suite, stringify(doc));
  }
  const runsDir = join(dir, `runs-${name}`);
  const r = await benchAsync([
    'certify',
    '--suite',
    suite,
    '--case',
    'test-points',
    '--meter-config',
    meterConfig,
    '--runs-dir',
    runsDir,
    ...(formats ? ['--format', formats] : []),
  ]);
  return { ...r, runsDir, ...reportOf(runsDir, r.stdout) };
}

describe('metrology-mid with uncertainty and a decision rule, on sim', () => {
  it('the healthy meter PASSes class B, each point with its U on the report and the rule stated', async () => {
    const r = await testPoints('healthy', 0);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const [c] = r.report.cases;
    expect(c!.verdict).toBe('PASS');
    // The simulated rig's reference budgets as a class 0.2 standard (2 · 0.2/√3 = 0.231 %); the pulse gates add a
    // little repeatability and edge timing.
    expect(c!.metrics['metrology.max_expanded_uncertainty_pct']).toBeGreaterThanOrEqual(0.231);
    expect(c!.metrics['metrology.max_expanded_uncertainty_pct']).toBeLessThan(0.24);
    expect(c!.metrics['metrology.points_not_accepted']).toBe(0);
    expect(r.html).toContain('Decision rule: guarded acceptance (guard band w = U)');
    expect(r.html).toMatch(/<th>U %<\/th><th>MPE %<\/th><th>ILAC-G8 statement<\/th>/);
    expect(r.html.match(/<td class="nowrap">pass<\/td><td>accepted<\/td>/g)).toHaveLength(6);
    expect(r.html).toContain('reference 0.115 % (type B: class 0.2: rectangular ±0.2 %)');
    // The error calculator gated each point on the meter's pulse output (1000 imp/kWh on the simulated rig).
    expect(r.html).toMatch(/<td>\d+ pulses<\/td>/);
  });

  it('a meter 0.9 % high is a conditional pass: FAIL under guarded acceptance, not under simple', async () => {
    const [guarded, simple] = await Promise.all([testPoints('g09', 0.9), testPoints('g09-simple', 0.9, 'simple')]);
    expect(guarded.code, guarded.stdout).toBe(1);
    expect(guarded.report.cases[0]!.verdict).toBe('FAIL');
    expect(guarded.stdout).toMatch(/metrology\.conditional_passes_refused=5 \(== 0\)/);
    expect(guarded.report.cases[0]!.metrics['metrology.points_beyond_mpe']).toBe(0);
    expect(guarded.html).toContain('<td class="nowrap">conditional pass</td><td><strong>not accepted</strong></td>');
    // Simple acceptance takes |e| ≤ MPE: within the limit, in the marginal band of the error ratio.
    expect(simple.code, simple.stdout).toBe(0);
    expect(simple.report.cases[0]!.verdict).toBe('MARGINAL');
    expect(simple.report.cases[0]!.metrics['metrology.conditional_passes_refused']).toBe(0);
    expect(simple.html).toContain('Decision rule: simple acceptance (w = 0)');
  });

  it('a meter 0.3 % high PASSes', async () => {
    const r = await testPoints('g03', 0.3);
    expect(r.code, r.stdout).toBe(0);
    expect(r.report.cases[0]!.verdict).toBe('PASS');
  });
});

describe('bench compare for metrology: several meters on one error curve', () => {
  it('overlays the error curves of three vendors and tabulates each point e ± U per run', async () => {
    const runsDir = join(dir, 'runs-vendors');
    const ids: string[] = [];
    for (const [vendor, gain] of [
      ['a', 0],
      ['b', 0.3],
      ['c', 0.9],
    ] as const) {
      const config = join(dir, `vendor-${vendor}.yaml`);
      writeFileSync(config, stringify({ faults: { gainErrorPct: gain } }));
      const r = await benchAsync([
        'certify',
        '--suite',
        'metrology-mid',
        '--case',
        'test-points',
        '--meter-config',
        config,
        '--runs-dir',
        runsDir,
        '--format',
        'json',
      ]);
      ids.push(reportOf(runsDir, r.stdout).runId);
    }
    const out = join(dir, 'compare-vendors');
    const r = await benchAsync(['compare', ...ids, '--runs-dir', runsDir, '--out', out, '--json']);
    const c = r.json<{
      metrology: Array<{ point: string; runs: Array<{ errorPct: number; expandedPct: number; statement: string }> }>;
    }>();
    expect(c.metrology).toHaveLength(6);
    const itr = c.metrology.find((m) => m.point === 'itr-pf1')!;
    expect(itr.runs.map((x) => Number(x.errorPct.toFixed(1)) + 0)).toEqual([0, 0.3, 0.9]);
    expect(itr.runs.map((x) => x.statement)).toEqual(['pass', 'pass', 'conditional pass']);
    const html = readFileSync(join(out, 'compare.html'), 'utf8');
    expect(html).toContain('<h2>Metrology</h2>');
    expect(html).toMatch(/<figure><svg[^>]*>/);
    expect(html).toContain('Error curves: error ± U vs current, MID class B MPE envelope');
    for (const id of ids) expect(html).toContain(id);
    const md = readFileSync(join(out, 'compare.md'), 'utf8');
    expect(md).toMatch(
      /\| test-points \| itr-pf1 \| ±1 \| -?0(\.\d+)? ± 0\.23\d* \(pass\) \| 0\.(29|3)\d* ± 0\.23\d* \(pass\) \| 0\.(89|9)\d* ± 0\.23\d* \(conditional pass\) \|/,
    );
  });
});

describe('the printable type-test certificate (PDF through headless Chromium)', () => {
  const pdftotext = (file: string) => execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  const pages = (file: string) =>
    Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [file], { encoding: 'utf8' }))?.[1]);

  it('certify --format pdf and bench report --format pdf print the certificate: test points, U, rule, reference, hashes', async () => {
    requireCommand('pdftotext', 'poppler-utils');
    const r = await testPoints('pdf', 0.9, undefined, 'json,html,pdf');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const pdf = join(r.runsDir, r.runId, 'reports', 'certificate.pdf');
    expect(readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
    const text = pdftotext(pdf).replace(/\s+/g, ' ');
    expect(text).toContain('TEST CERTIFICATE');
    // The run and its record hash (the footer), wherever the page breaks fall.
    expect(text.replace(/ /g, '')).toMatch(new RegExp(`run${r.runId}·recordsha256[0-9a-f]{64}`));
    expect(text).toContain('Decision rule: guarded acceptance (guard band w = U)');
    expect(text).toContain("Reference standard: the simulated rig's exact synthesis");
    // A row as printed (long cells wrap inside A4): the capacitive point, read from pulses, a conditional pass.
    expect(text).toMatch(/PF 0\.8 cap [\d.]+ \d+ pulses 0\.(89|9)\d* ±0\.2\d* ±1 conditional pass not/);
    expect(text).toContain('Error curve: error ± U vs current, MID class B MPE envelope');
    expect(text).toMatch(/Anchored report\.json sha256 [0-9a-f]{10}/);
    // Long metric names wrap inside their cell on A4.
    expect(text.replace(/ /g, '')).toContain('metrology.conditional_passes_refused');
    expect(pages(pdf)).toBeGreaterThanOrEqual(2);
    expect(pages(pdf)).toBeLessThanOrEqual(8);
    // Re-printed from the record alone.
    const again = await benchAsync([
      'report',
      r.runId,
      '--runs-dir',
      r.runsDir,
      '--format',
      'pdf',
      '--reports-dir',
      join(dir, 'again'),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(pdftotext(join(dir, 'again', r.runId, 'certificate.pdf')).replace(/\s+/g, ' ')).toContain(
      'conditional pass not accepted',
    );
  });

  it('no table of the certificate is wider than an A4 page', async () => {
    const r = await testPoints('a4', 0, undefined, 'html');
    const html = readFileSync(join(r.runsDir, r.runId, 'reports', 'report.html'), 'utf8');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      // A4 less the print margins (12 mm each side) at 96 px per inch.
      await page.setViewport({ width: Math.floor(((210 - 24) / 25.4) * 96), height: 1100 });
      await page.emulateMediaType('print');
      await page.setContent(html, { waitUntil: 'load' });
      const overflowing = await page.evaluate(() =>
        Array.from(document.querySelectorAll('table'))
          .filter((t) => t.scrollWidth > (t.parentElement?.clientWidth ?? 0) + 1)
          .map((t) => t.previousElementSibling?.textContent ?? t.outerHTML.slice(0, 80)),
      );
      expect(overflowing).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    } finally {
      await browser.close();
    }
  });

  it('without Chromium, asking for a PDF is a rig error that says where it looked (exit 3)', async () => {
    const r = await benchAsync(['report', 'no-such-run', '--format', 'pdf', '--runs-dir', dir], {
      env: { CHROMIUM_PATH: '/nonexistent/chromium' },
    });
    expect(r.code).not.toBe(0);
    const certified = await testPoints('no-browser', 0, undefined, 'json');
    const p = await benchAsync(['report', certified.runId, '--runs-dir', certified.runsDir, '--format', 'pdf'], {
      env: { CHROMIUM_PATH: '/nonexistent/chromium' },
    });
    expect(p.code).toBe(3);
    expect(p.stderr).toContain('Chromium not found at /nonexistent/chromium');
  });
});

describe("a rig's reference standard", () => {
  const rigWith = (name: string, calibration: unknown, on = 'reference') => {
    const rig = parse(readFileSync(join(REPO_ROOT, 'rigs/builtin/sim-serial.yaml'), 'utf8')) as {
      name: string;
      instruments: Array<{ id: string; calibration?: unknown }>;
    };
    rig.name = name;
    for (const i of rig.instruments) delete i.calibration;
    rig.instruments.find((i) => i.id === on)!.calibration = calibration;
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, stringify(rig));
    return file;
  };

  it('past its calibration due date ERRORs the metrology case with that reason, before any point is played', async () => {
    requireSocat();
    const rigFile = rigWith('lab-expired', {
      accuracyClass: 0.2,
      certificate: 'D-K-15063-01-00 2024-0117',
      expandedUncertaintyPct: 0.04,
      due: '2025-01-31',
    });
    const r = await withServedRig(rigFile, join(dir, 'served-expired'), 60, async (servedRig) => {
      const runsDir = join(dir, 'runs-expired');
      const run = await benchAsync([
        'certify',
        '--rig',
        servedRig,
        '--suite',
        'metrology-mid',
        '--case',
        'test-points',
        '--time-scale',
        '60',
        '--runs-dir',
        runsDir,
      ]);
      return { ...run, ...reportOf(runsDir, run.stdout) };
    });
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    const [c] = r.report.cases;
    expect(c!.verdict).toBe('ERROR');
    expect(c!.reason).toContain(
      'the calibration of reference reference (certificate D-K-15063-01-00 2024-0117) was due on 2025-01-31',
    );
  });

  it('a calibration on an instrument that is not the reference is refused with file and field (exit 2)', async () => {
    const rigFile = rigWith('lab-misplaced', { accuracyClass: 0.2 }, 'dut');
    const r = await benchAsync(['certify', '--rig', rigFile, '--suite', 'metrology-mid', '--runs-dir', join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(rigFile);
    expect(r.stderr).toMatch(
      /lab-misplaced\.yaml:\d+:\d+ instruments\[1\]\.calibration: only a reference instrument has a calibration \(dut is dut\)/,
    );
  });
});

/** A whole built-in suite on sim with a meter config: the run's report (its cases also by id). */
async function wholeSuite(suite: string, name: string, meter: Record<string, unknown>) {
  const meterConfig = join(dir, `${name}.yaml`);
  writeFileSync(meterConfig, stringify(meter));
  const runsDir = join(dir, `runs-${name}`);
  const r = await benchAsync(['certify', '--suite', suite, '--meter-config', meterConfig, '--runs-dir', runsDir]);
  const out = reportOf(runsDir, r.stdout);
  return { ...r, ...out, cases: new Map(out.report.cases.map((c) => [c.id, c])) };
}

describe('metrology-mid from its test plan (MID MI-003 as data), on sim', () => {
  const whole = (name: string, meter: Record<string, unknown>) => wholeSuite('metrology-mid', name, meter);
  const verdicts = (cases: Map<string, { verdict: string }>) =>
    Object.fromEntries([...cases].map(([id, c]) => [id, c.verdict]));
  // The cases the plan gives the suite, in order.
  const PLANNED = resolveSuite('metrology-mid').suite.cases.map((c) => c.id);

  it('the healthy meter PASSes every planned case: rated ranges, the 5th harmonic, no-load and starting', async () => {
    const r = await whole('plan-healthy', {});
    expect(r.code, r.stderr).toBe(0);
    expect(verdicts(r.cases)).toEqual(Object.fromEntries(PLANNED.map((id) => [id, 'PASS'])));
    expect(r.cases.get('disturbance-fifth-harmonic')!.metrics['metrology.max_error_shift_pct']).toBeLessThan(0.01);
    expect(r.cases.get('starting')!.metrics['metrology.starting_gaps']).toBe(0);
  });

  it('a meter that books only the fundamental FAILs the harmonics case by the harmonic power it misses', async () => {
    const r = await whole('plan-fundamental', { faults: { fundamentalOnly: true } });
    expect(r.code).toBe(1);
    expect(verdicts(r.cases)).toEqual(
      Object.fromEntries(PLANNED.map((id) => [id, id === 'disturbance-fifth-harmonic' ? 'FAIL' : 'PASS'])),
    );
    // 10 % of the 5th in the voltage and 40 % in the current, in phase: 4 % of the fundamental's power is harmonic,
    // so a fundamental-only meter reads 1 − 1/1.04 = 3.85 % low against the undisturbed point.
    expect(r.cases.get('disturbance-fifth-harmonic')!.metrics['metrology.max_error_shift_pct']).toBeCloseTo(
      (1 - 1 / 1.04) * 100,
      1,
    );
  });

  it('a meter that does not start at Ist FAILs the starting case only', async () => {
    // Ist of class B with Itr 0.5 A is 0.02 A: 4.6 W at 230 V, under a 10 W starting threshold.
    const r = await whole('plan-starting', { startThresholdW: 10 });
    expect(r.code).toBe(1);
    expect(verdicts(r.cases)).toEqual(
      Object.fromEntries(PLANNED.map((id) => [id, id === 'starting' ? 'FAIL' : 'PASS'])),
    );
    expect(r.cases.get('starting')!.metrics['metrology.starting_gaps']).toBe(2);
  });

  it('a plan with a current the standard does not name is refused before any run, at its file and line (exit 2)', async () => {
    const plan = join(dir, 'bad-plan.yaml');
    writeFileSync(
      plan,
      ['name: bad', 'title: Bad plan', 'connection: direct', 'accuracy:', '  - { current: 2imin, pf: unity }', ''].join(
        '\n',
      ),
    );
    const suite = join(dir, 'bad-plan-suite.yaml');
    writeFileSync(
      suite,
      stringify({
        name: 'bad-plan',
        version: 1,
        title: 'A suite naming a bad plan',
        parameters: { midClass: 'B', unV: 230, fnHz: 50, itrA: 0.5, imaxA: 40 },
        plan,
      }),
    );
    const runsDir = join(dir, 'runs-bad-plan');
    const r = await benchAsync(['certify', '--suite', suite, '--runs-dir', runsDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${plan}:5:`);
    expect(r.stderr).toContain('accuracy[0].current');
    expect(existsSync(runsDir)).toBe(false);
  });
});

describe('metrology-mid-polyphase (MI-003 polyphase plan), on sim', () => {
  const polyphase = (name: string, meter: Record<string, unknown>) =>
    wholeSuite('metrology-mid-polyphase', name, meter);

  it('balanced points and a single-phase load on each phase PASS, each against its row of Table 2', async () => {
    const r = await polyphase('poly-healthy', {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.cases.map((c) => [c.id, c.verdict])).toEqual([['test-points', 'PASS']]);
    // The single-phase-load points carry Table 2's polyphase row (1.5 % for class B), the balanced ones 1 % from Itr.
    const row = (id: string) =>
      new RegExp(
        `<td class="nowrap">${id}</td><td class="num">5</td>.*?<td class="num">±([\\d.]+)</td><td class="nowrap">`,
      );
    expect(row('10itr-pf1-l2').exec(r.html)?.[1]).toBe(
      String(midMpe({ midClass: 'B', current: 'itr-imax', load: 'polyphase-single-phase-load' }).mpePct),
    );
    expect(row('10itr-pf1').exec(r.html)?.[1]).toBe(String(midMpe({ midClass: 'B', current: 'itr-imax' }).mpePct));
  });

  it('a meter with L2 current transformer reversed FAILs: the balanced points read a third low, the L2 points export', async () => {
    const r = await polyphase('poly-reversed', { faults: { reversedCurrentPhase: 2 } });
    expect(r.code).toBe(1);
    const [c] = r.report.cases;
    expect(c!.verdict).toBe('FAIL');
    // Six balanced points and the three on L2; the L1 and L3 points are right.
    expect(c!.metrics['metrology.points_beyond_mpe']).toBe(9);
  });
});
