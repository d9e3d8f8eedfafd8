export type CpState = 'A' | 'B' | 'C';

/**
 * The EV simulator of an I/O board: two relays on the control pilot. B closes 2.74 kΩ (vehicle connected, 9 V), C
 * adds 1.3 kΩ in parallel (882 Ω: charging, 6 V), both open is A (12 V, no vehicle) — IEC 61851-1 annex A.
 */
export interface CpPins {
  b: number;
  c: number;
}

export function cpStateOf(bClosed: boolean, cClosed: boolean): CpState {
  return !bClosed ? 'A' : cClosed ? 'C' : 'B';
}

export function cpPinsOf(options: Record<string, unknown> | undefined): CpPins | undefined {
  const p = options?.cpPins as { b?: unknown; c?: unknown } | undefined;
  return p && typeof p.b === 'number' && typeof p.c === 'number' ? { b: p.b, c: p.c } : undefined;
}

/** Relay positions (closed = true) that present `state` on the pilot. */
export function cpRelays(state: CpState): { b: boolean; c: boolean } {
  return { b: state !== 'A', c: state === 'C' };
}
