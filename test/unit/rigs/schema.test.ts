import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileValidationError } from '../../../engine/errors.js';
import { loadRigFile } from '../../../rigs/check.js';
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

  it('the Grafana dashboard is valid JSON over the sink series', () => {
    const d = JSON.parse(readFileSync(join(ROOT, 'rigs/grafana/bench-dashboard.json'), 'utf8'));
    expect(JSON.stringify(d.panels)).toContain('meter_p');
  });
});
