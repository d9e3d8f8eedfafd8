/**
 * The Rig interface the executor drives. The built-in `sim` rig, the `sim-serial` rig (emulators on PTYs) and real
 * benches implement it; only their transports differ.
 */
export const CAPABILITIES = [
  'load.setpoints',
  'load.waveform',
  'meter.measurements',
  'meter.events',
  'meter.billing',
  'pulse.count',
  'relay.switch',
  'ev.cp',
  /** A charging station under test speaking OCPP to the bench's central system (rig files, sim-ocpp). */
  'station.ocpp',
  /**
   * A programmable AC source on the supply: the case's scenario voltage and frequency are applied to the meter
   * (metrology influence points, the no-load test at 115 % Un). A rig without one runs at the mains it has.
   */
  'supply.voltage',
  'supply.frequency',
  /**
   * A three-phase supply and load (L1–L3 at 120°) and a polyphase meter under test: a case whose scenario has
   * `phases: 3` requires it (added when the suite is read).
   */
  'supply.three-phase',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Where to find a capability the built-in sim rig lacks, for the reason a case is NOT RUN without it. */
export const CAPABILITY_WHERE: Partial<Record<Capability, string>> = {
  'station.ocpp': 'a charging station: --rig sim-ocpp, sim-ocpp16, or a rig file with an ocpp instrument',
  'supply.voltage': 'a programmable AC source that sets the supply voltage: --rig sim',
  'supply.frequency': 'a programmable AC source that sets the supply frequency: --rig sim',
  'supply.three-phase': 'a three-phase supply and load with a polyphase meter: --rig sim',
};

export interface InstrumentIdentity {
  id: string;
  role: 'load' | 'dut' | 'reference' | 'io';
  /** What the instrument says it is (*IDN?, Modbus model register, IEC 62056-21 identification, Firmata version). */
  identity: string;
  transport: string;
  capabilities: Capability[];
}

export interface RigIdentity {
  name: string;
  instruments: InstrumentIdentity[];
  /** Identities of the meter under test: model, firmware version and hash, signing address. */
  dut?: Record<string, unknown>;
}

export interface CaseContext {
  caseId: string;
  seed: number;
  /** Aborted on Ctrl-C or when the case's time limit passes; rigs must stop promptly and safely. */
  signal: AbortSignal;
  /** Appends an observation to the run record (the executor adds the case id). High-rate kinds are batched. */
  observe(kind: string, data: Record<string, unknown>): void;
  progress(done: number, total: number, label?: string): void;
}

/** What a case asks the rig to do. `scenario` is a profiles Scenario; `meter` the DUT configuration for sims. */
export interface CasePlan {
  caseId: string;
  scenario: unknown;
  meter?: Record<string, unknown>;
  params: Record<string, unknown>;
}

export interface Rig {
  readonly name: string;
  readonly capabilities: ReadonlySet<Capability>;
  open(): Promise<RigIdentity>;
  runCase(plan: CasePlan, ctx: CaseContext): Promise<void>;
  /** Brings every instrument to a safe state (loads off, relays open) and releases transports. Always called. */
  close(): Promise<void>;
}
