import { RigError } from '../../core/errors.js';
import type { Profile } from '../../profiles/schema.js';
import type { ScpiDialect } from './scpi-dialects.js';
import type { LoadSetpoint } from './scpi-load.js';

export interface ScheduledSetpoint {
  /** Offset from the load's switch-on, seconds. */
  tS: number;
  setpoint: LoadSetpoint;
}

/**
 * A profile's states → a setpoint schedule for a programmable load: power and PF per state (PF from `pf`, or from P
 * and Q), crest factor from the harmonic spectrum (1 + Σ ratios bounded below by √2 as a first approximation),
 * ramps/tapers as `steps` intermediate setpoints, cycling as on/off pairs. Negative power (V2G/PV export) cannot be
 * drawn by a load and is rejected; out-of-range values are rejected by the driver, never clamped.
 */
export function profileSetpoints(
  profile: Profile,
  opts: { device: string; dialect?: ScpiDialect; steps?: number; cycles?: number } = { device: 'load' },
): ScheduledSetpoint[] {
  const out: ScheduledSetpoint[] = [];
  const steps = opts.steps ?? 5;
  let t = 0;
  for (const s of profile.states) {
    if (s.p < 0 || (s.fromP ?? 0) < 0 || (s.toP ?? 0) < 0) {
      throw new RigError(`profile ${profile.name} state ${s.name} exports power; a load cannot source it`, {
        device: opts.device,
        code: 'RANGE',
      });
    }
    const pf = s.pf !== undefined ? Math.abs(s.pf) : s.q !== undefined && s.p > 0 ? s.p / Math.hypot(s.p, s.q) : 1;
    const cf = Math.max(Math.SQRT2, Math.SQRT2 * (1 + s.harmonics.reduce((a, h) => a + h.ratio, 0)));
    const sp = (watts: number): LoadSetpoint =>
      watts <= 0 ? { kind: 'off' } : { kind: 'power', watts, powerFactor: pf, crestFactor: cf };
    const dur = s.durationS ?? 0;
    if ((s.kind === 'ramp' || s.kind === 'taper') && s.fromP !== undefined && s.toP !== undefined) {
      for (let i = 0; i < steps; i++) {
        out.push({
          tS: t + (dur * i) / steps,
          setpoint: sp(s.fromP + ((s.toP - s.fromP) * i) / Math.max(1, steps - 1)),
        });
      }
    } else if (s.kind === 'cycling' && s.onS && s.offS) {
      const n = opts.cycles ?? Math.max(1, Math.floor(dur / (s.onS + s.offS)) || 1);
      for (let i = 0; i < n; i++) {
        out.push({ tS: t + i * (s.onS + s.offS), setpoint: sp(s.p) });
        out.push({ tS: t + i * (s.onS + s.offS) + s.onS, setpoint: { kind: 'off' } });
      }
    } else {
      out.push({ tS: t, setpoint: sp(s.p) });
    }
    t += dur;
  }
  return out;
}
