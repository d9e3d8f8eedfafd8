/**
 * The contract between waveform synthesis (profiles/) and everything that consumes samples (the reference meter,
 * the emulated instruments, the simulated rig). Blocks are plain typed arrays so the hot path allocates nothing
 * per sample; consumers must not keep references to a block after the next one is requested (buffers are reused).
 */
export interface CycleBlock {
  /** Which meter (house) these samples are seen by. */
  meterId: string;
  /** Scenario time in seconds of the first sample of the first cycle in this block. */
  t0: number;
  /** Mains frequency in Hz (50 or 60). */
  frequency: number;
  samplesPerCycle: number;
  /** Number of whole cycles in this block. */
  cycles: number;
  /** Instantaneous voltage in volts, cycles × samplesPerCycle samples. */
  voltage: Float64Array;
  /** Instantaneous current in amperes (sum of every active load), same length as voltage. */
  current: Float64Array;
  /** A three-phase supply's L1, L2, L3 (L1 the same arrays as voltage and current); absent on a single phase. */
  lines?: ReadonlyArray<{ voltage: Float64Array; current: Float64Array }>;
  /** The neutral current (the phase currents' sum) of a three-phase supply. */
  neutral?: Float64Array;
}

/** 1-second macro-level values for long scenarios where waveforms are not needed. */
export interface MacroSample {
  meterId: string;
  /** Scenario time in seconds at the start of the interval. */
  t: number;
  /** Mean active power in W over the interval (negative = export). */
  p: number;
  /** Mean reactive power in var over the interval. */
  q: number;
  /** Active energy in Wh over the interval (signed). */
  energyWh: number;
}
