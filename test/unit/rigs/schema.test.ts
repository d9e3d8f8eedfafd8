import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileValidationError } from '../../../core/errors.js';
import { loadRigFile } from '../../../rigs/rig-file.js';
import { rigCapabilities } from '../../../rigs/schema.js';

const ROOT = join(import.meta.dirname, '../../..');

describe('rig files', () => {
  it('the built-in rigs load', () => {
    const sim = loadRigFile(join(ROOT, 'rigs/builtin/sim.yaml'));
    expect(rigCapabilities(sim).has('meter.billing')).toBe(true);
    const serial = loadRigFile(join(ROOT, 'rigs/builtin/sim-serial.yaml'));
    expect(serial.instruments.map((i) => i.transport.kind)).toEqual(['serial', 'serial', 'serial', 'serial', 'serial']);
  });

  it('an unknown key is an input error naming file:line and the field', () => {
    const file = join(ROOT, 'test/fixtures/rigs/bad-rig.yaml');
    const e = (() => {
      try {
        loadRigFile(file);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(FileValidationError);
    expect(String((e as Error).message)).toMatch(/bad-rig\.yaml:6:\d+.*transport/);
  });

  it('a rig file may declare the meter under test (nameplate), and only the known fields', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rig-dut-'));
    const rig = (dut: string) => {
      const file = join(dir, 'rig.yaml');
      const text = readFileSync(join(ROOT, 'rigs/builtin/sim-serial.yaml'), 'utf8').replace(
        'instruments:',
        `dut:\n${dut}\ninstruments:`,
      );
      writeFileSync(file, text);
      return file;
    };
    const ok = loadRigFile(rig('  vendor: ACME\n  model: EM-3\n  serial: SN-0042\n  firmware: 2.0.1'));
    expect(ok.dut).toEqual({ vendor: 'ACME', model: 'EM-3', serial: 'SN-0042', firmware: '2.0.1' });
    expect(() => loadRigFile(rig('  vendor: ACME\n  colour: red'))).toThrow(/rig\.yaml:\d+:\d+.*dut/);
  });

  it('the Grafana dashboard is valid JSON over the sink series', () => {
    const d = JSON.parse(readFileSync(join(ROOT, 'rigs/grafana/bench-dashboard.json'), 'utf8'));
    expect(JSON.stringify(d.panels)).toContain('meter_p');
  });
});

describe('a rig that declares a three-phase supply', () => {
  it('needs a three-phase load dialect: refused at the capability with the dialects that have one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rig-3ph-'));
    const file = join(dir, 'rig.yaml');
    writeFileSync(
      file,
      [
        'name: one-phase-load',
        'instruments:',
        '  - id: load',
        '    role: load',
        '    dialect: chroma-63804x3',
        '    transport: { kind: serial, path: /dev/null }',
        '    capabilities: [load.setpoints, supply.three-phase]',
        '',
      ].join('\n'),
    );
    try {
      loadRigFile(file);
      throw new Error('expected the rig to be refused');
    } catch (e) {
      expect(e).toBeInstanceOf(FileValidationError);
      expect((e as FileValidationError).problems).toEqual([
        expect.objectContaining({
          line: 7,
          field: 'instruments[0].capabilities',
          message: expect.stringMatching(
            /supply.three-phase needs a three-phase load dialect \(chroma-63804-3ph, chroma-63804x3-3ph\), not chroma-63804x3/,
          ),
        }),
      ]);
    }
  });
});
