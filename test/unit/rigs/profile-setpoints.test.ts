import { describe, expect, it } from 'vitest';
import { profileSchema } from '../../../profiles/schema.js';
import { profileSetpoints } from '../../../rigs/drivers/profile-setpoints.js';

const base = { class: 'kettle', description: 'test', source: 'test' };

describe('profile → load setpoint schedule', () => {
  it('steady and ramp states become power/PF setpoints', () => {
    const p = profileSchema.parse({
      ...base,
      name: 'test-load',
      states: [
        { name: 'ramp', kind: 'ramp', durationS: 4, p: 1000, fromP: 0, toP: 1000 },
        { name: 'run', durationS: 10, p: 1000, q: 484.3 },
      ],
    });
    const s = profileSetpoints(p, { device: 'load', steps: 3 });
    expect(s.map((x) => x.tS)).toEqual([0, 4 / 3, 8 / 3, 4]);
    expect(s[0]?.setpoint).toEqual({ kind: 'off' });
    expect(s[3]?.setpoint).toMatchObject({ kind: 'power', watts: 1000 });
    const run = s[3]?.setpoint;
    expect(run?.kind === 'power' ? run.powerFactor : undefined).toBeCloseTo(0.9, 3);
  });

  it('export power is rejected with a typed error', () => {
    const p = profileSchema.parse({ ...base, name: 'v2g', states: [{ name: 'discharge', p: -3000 }] });
    expect(() => profileSetpoints(p, { device: 'load' })).toThrow(/exports power/);
  });
});
