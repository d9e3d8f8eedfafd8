/**
 * MID limits through the built CLI (issue 13 item 1): a class B meter outside its MPE fails certification with exit
 * 1; `bench suite show` prints each table limit as resolved and where it came from; the schema describes limitFrom;
 * a suite that asks the table for a limit without a class is an input error at its line.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { midMpe } from '../../../analysis/standards/mid.js';
import { BUILTIN_SUITES_DIR } from '../../../engine/suite.js';
import { benchAsync } from '../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'limits-cli-'));
const classB = midMpe({ midClass: 'B', current: 'itr-imax' });

describe('MID limits through the CLI', () => {
  it('bench certify: a class B meter with a 1.3 % gain error FAILs ev-at-home (it was MARGINAL, exit 0)', async () => {
    // The meter: outside class B (the table's MPE), inside the 2 % the suite used to hard-code.
    const gainErrorPct = 1.3;
    expect(gainErrorPct).toBeGreaterThan(classB.mpePct);
    const config = join(dir, 'gain.yaml');
    writeFileSync(config, `faults:\n  gainErrorPct: ${gainErrorPct}\n`);
    const r = await benchAsync([
      'certify',
      '--suite',
      'ev-billing',
      '--case',
      'ev-at-home',
      '--meter-config',
      config,
      '--runs-dir',
      join(dir, 'runs'),
      '--reports-dir',
      join(dir, 'reports'),
      '--format',
      'json',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(1);
    const out = r.json<{ verdict: string; cases: Array<{ id: string; verdict: string; failed: string[] }> }>();
    expect(out.verdict).toBe('FAIL');
    const failed = out.cases[0]!.failed.join(' ');
    expect(failed).toContain(`energy.ev_error_pct_max=`);
    expect(failed).toContain(`(<= ${classB.mpePct})`);
    expect(failed).toContain('billing.energy_mismatch=');
  });

  it('bench suite show prints the resolved limit, its marginal inside it, and the table cell it came from', async () => {
    const r = await benchAsync(['suite', 'show', 'ev-billing']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `energy.ev_error_pct_max <= ${classB.mpePct} % (marginal ${classB.mpePct / 2})   [${classB.citation}]`,
    );
    expect(r.stdout).toContain(`limit from mid.mpe[class B (midClass), itr-imax, single-phase, +5..+30 °C]`);
    const json = await benchAsync(['suite', 'show', 'metrology-mid', '--json']);
    const below = midMpe({ midClass: 'B', current: 'imin-itr' });
    const points = json.json<{ suite: { cases: Array<{ criteria: Array<Record<string, unknown>> }> } }>().suite
      .cases[0]!;
    expect(points.criteria.find((c) => c.metric === 'metrology.max_error_pct')).toMatchObject({
      limit: below.mpePct,
      clause: below.citation,
    });
  });

  it('bench schema suite describes limitFrom and marginalFraction', async () => {
    const r = await benchAsync(['schema', 'suite', '--json']);
    expect(r.code).toBe(0);
    const text = r.stdout;
    expect(text).toContain('"limitFrom"');
    expect(text).toContain('"marginalFraction"');
    expect(text).toContain('"itr-imax"');
  });

  it('bench suite validate: a table limit without midClass exits 2 naming file:line and field', async () => {
    const text = readFileSync(join(BUILTIN_SUITES_DIR, 'ev-billing.yaml'), 'utf8').replace(/^ {2}midClass: B\n/m, '');
    const file = join(dir, 'no-class.yaml');
    writeFileSync(file, text);
    const line = text.split('\n').findIndex((l) => l.includes('limitFrom:')) + 1;
    const r = await benchAsync(['suite', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `no-class\\.yaml:${line}:\\d+ cases\\[0\\]\\.criteria\\[13\\]\\.limitFrom: mid\\.mpe needs the suite parameter midClass`,
      ),
    );
  });
});
