/**
 * The HTML report as a certificate, through the built CLI: lab and operator from a lab file and flags, the DUT's
 * identity, a conformity statement, the ledger anchor with its verify command, costs in the tariff's currency, a
 * footer from the record; `bench report` re-renders it byte for byte; a bad lab file is refused before any run.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CertifyResult } from '../../../engine/certify.js';
import { benchAsync } from '../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'certificate-'));
const runsDir = join(dir, 'runs');
const reportsDir = join(dir, 'reports');

describe('certify writes a certificate', () => {
  it('names lab, operator and meter, states conformity, and gives the anchor and a verify command', async () => {
    const lab = join(dir, 'lab.yaml');
    writeFileSync(
      lab,
      'lab:\n  name: Example Metrology Lab\n  address: 1 Test Street, Berlin\n  accreditation: ISO/IEC 17025 D-PL-00000\noperator: A. File\n',
    );
    const r = await benchAsync(
      ['certify', '--suite', 'smoke', '--lab-config', lab, '--operator', 'B. Flag', '--json'].concat([
        '--runs-dir',
        runsDir,
        '--reports-dir',
        reportsDir,
      ]),
    );
    expect(r.code, r.stderr).toBe(0);
    const result = r.json<CertifyResult>();
    expect(result.verdict).toBe('PASS');
    const html = readFileSync(join(reportsDir, result.runId, 'report.html'), 'utf8');
    const text = html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

    expect(text).toContain('Lab Example Metrology Lab');
    expect(text).toContain('Accreditation ISO/IEC 17025 D-PL-00000');
    // The flag wins over the lab file.
    expect(text).toContain('Operator B. Flag');
    expect(text).not.toContain('A. File');
    expect(text).toContain('Model bench reference meter reported by the device');
    expect(text).toContain('Vendor bench (simulated reference meter) reported by the device');
    expect(text).toMatch(/The meter under test conforms to the criteria of .* \(suite smoke version \d+/);

    const anchor = result.anchor!;
    expect(text).toContain(`Transaction ${anchor.txHash}`);
    expect(text).toContain(`Block ${anchor.block}`);
    expect(text).toContain(`sha256 ${anchor.reportSha256} the JSON report of this record`);
    expect(text).toContain(`bench ledger verify ${result.runId}`);
    expect(text).toContain('in-memory chain that ended with the run: it cannot be checked later');

    expect(html).toMatch(/<td class="num nowrap">\d+\.\d\d EUR<\/td>/);
    expect(html).toContain(`record sha256 ${result.recordHash}`);
    expect(html).not.toContain('{&quot;');

    // Reports are functions of the record (and the anchor's receipt beside it): a re-render is the same file.
    const again = join(dir, 'again');
    const rr = await benchAsync(['report', result.runId, '--runs-dir', runsDir, '--reports-dir', again]);
    expect(rr.code, rr.stderr).toBe(0);
    expect(readFileSync(join(again, result.runId, 'report.html'), 'utf8')).toBe(html);
  });

  it('refuses a bad lab file before any run exists, naming file:line and field', async () => {
    const bad = join(dir, 'bad-lab.yaml');
    writeFileSync(bad, 'lab:\n  name: Lab\n  phone: 123\n');
    const empty = join(dir, 'runs-bad');
    const r = await benchAsync(['certify', '--suite', 'smoke', '--lab-config', bad, '--runs-dir', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-lab\.yaml:3:\d+ .*lab.*phone/);
    expect(existsSync(empty) ? readdirSync(empty) : []).toEqual([]);

    const r2 = await benchAsync(['certify', '--suite', 'smoke', '--operator', 'Nobody', '--runs-dir', empty]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('--operator needs a lab');
  });
});
