import type { PulseData } from '../core/record/entries.js';

/**
 * The error calculator's gate on the DUT's pulse output, as a meter test bench runs it: the gate opens on one
 * pulse edge and closes on a later one, so the DUT's energy between them is exactly N / C (N pulses, C imp/kWh)
 * and no pulse is cut in two; the reference's energy is taken over the same two edge times. A bench records the
 * latest edge of each read's pulses (PulseData.t) with the pulses since the previous read, so every recorded entry
 * is an edge with a known running count.
 */
export interface PulseGate {
  /** Case times of the opening and closing edges. */
  t0: number;
  t1: number;
  pulses: number;
  meterWh: number;
}

/** The time a sample rig stamps a pulse within: the mains cycle its meter books energy in (50 Hz). */
export const SIM_PULSE_RESOLUTION_S = 0.02;

/**
 * The gate over a load's run [start, end]: from the first recorded edge inside it to the last, with the pulses
 * between, and the same split into up to `n` consecutive gates at recorded edges (for repeatability); undefined
 * when fewer than two edges fall inside (a low current: too few pulses, so the caller gates by duration on the
 * registers instead).
 */
export function pulseGates(
  pulses: readonly PulseData[],
  start: number,
  end: number,
  impPerKWh: number,
  n: number,
): { whole: PulseGate; gates: PulseGate[] } | undefined {
  const edges = pulses.filter((p) => p.t > start && p.t < end).sort((a, b) => a.t - b.t);
  if (edges.length < 2) return undefined;
  const gate = (from: number, to: number): PulseGate => {
    const count = edges.slice(from + 1, to + 1).reduce((s, p) => s + p.count, 0);
    return { t0: edges[from]!.t, t1: edges[to]!.t, pulses: count, meterWh: (count * 1000) / impPerKWh };
  };
  const whole = gate(0, edges.length - 1);
  // Consecutive gates at the recorded edges nearest to equal divisions of the whole gate's time.
  const cuts = [0];
  for (let i = 1; i < n; i++) {
    const at = whole.t0 + ((whole.t1 - whole.t0) * i) / n;
    const k = edges.findIndex((p) => p.t >= at);
    if (k > cuts.at(-1)! && k < edges.length - 1) cuts.push(k);
  }
  cuts.push(edges.length - 1);
  const gates = cuts.slice(1).map((to, i) => gate(cuts[i]!, to));
  return { whole, gates: gates.every((g) => g.pulses > 0) ? gates : [] };
}
