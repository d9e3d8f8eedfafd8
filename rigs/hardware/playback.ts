import type { RigError } from '../../core/errors.js';
import { ENTRY } from '../../core/record/entries.js';
import type { Scenario } from '../../profiles/scenario-schema.js';
import type { FirmataBoardDriver } from '../drivers/firmata-board.js';
import type { JsonlStreamDriver } from '../drivers/jsonl-stream.js';
import type { LoadSetpoint, ScpiLoadDriver } from '../drivers/scpi-load.js';
import type { CpPins } from '../ev-cp.js';
import { type EvSignal, scenarioSetpoints, type TotalSetpoint } from '../scenario-setpoints.js';
import type { CaseRun } from './case-run.js';
import type { StationCase } from './station.js';

/** Knobs of a hardware run, from the suite/case parameters and `bench certify --time-scale`. */
export interface HardwarePlayback {
  /** Scenario seconds per wall second; 1 on real hardware, higher only for emulators running the same scale. */
  timeScale: number;
  /** Wall milliseconds between DUT polls. */
  pollMs: number;
  /** Scenario seconds played after the last switch so the final state is measured. */
  tailS: number;
}

export function playbackOf(params: Record<string, unknown>): HardwarePlayback {
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : d);
  const timeScale = num(params.timeScale, 1);
  // One poll per scenario second by default, but no faster than a Modbus meter at 9600 Bd can answer a full poll.
  return { timeScale, pollMs: num(params.pollMs, Math.max(50, 1000 / timeScale)), tailS: num(params.tailS, 2) };
}

/** Wall seconds a scenario takes to play on a hardware rig (the executor adds it to the case's time limit). */
export function realTimeSeconds(scenario: Scenario, params: Record<string, unknown>): number {
  return scenario.durationS / playbackOf(params).timeScale;
}

/**
 * Why a bench with one DUT and a load (that only sinks power) cannot play a scenario, if it cannot: the executor
 * reports such a case NOT RUN before it starts.
 */
export function whyUnplayable(scenario: Scenario, seed: number, rigName: string): string | undefined {
  if (scenario.houses.length !== 1) return `scenario has ${scenario.houses.length} meters; rig ${rigName} has one DUT`;
  const house = scenario.houses[0] as Scenario['houses'][number];
  const exporting = scenarioSetpoints(scenario, house.id, seed).find((s) => s.p < -0.5);
  if (exporting) return `scenario exports power (t=${exporting.t} s); rig ${rigName}'s load only sinks it`;
  // The bench presents an EV through one control-pilot simulator (one charge point): a second EV plugged in while
  // the first still is would need a second one.
  const plugIns = scenario.evs
    .flatMap((ev) => ev.sessions.filter((s) => s.at === house.id).map((s) => ({ ev: ev.id, ...s })))
    .sort((a, b) => a.plugIn - b.plugIn);
  for (let i = 1; i < plugIns.length; i++) {
    const earlier = plugIns.slice(0, i).find((p) => p.ev !== plugIns[i]!.ev && p.unplug > plugIns[i]!.plugIn);
    if (earlier) {
      return `scenario has 2 EVs plugged in at once (t=${plugIns[i]!.plugIn} s); rig ${rigName} has one EV simulator`;
    }
  }
  return undefined;
}

/** Scenario seconds the DUT gets to settle on the standby load before a case's clock starts. */
const SETTLE_S = 5;

/** What a load takes for drawing (p, q): power at the power factor of p and q, or off (it only sinks power). */
function loadSetpoint(sp: { p: number; q: number }): LoadSetpoint {
  const watts = Math.max(0, sp.p);
  const va = Math.hypot(watts, sp.q);
  return watts < 1 ? { kind: 'off' } : { kind: 'power', watts, powerFactor: va > 0 ? Math.min(1, watts / va) : 1 };
}

/** The drivers playback acts through: the load takes setpoints, the board's relays the pilot, the stream tokens. */
export interface PlaybackDrivers {
  load?: ScpiLoadDriver;
  board?: FirmataBoardDriver;
  cpPins?: CpPins;
  stream?: JsonlStreamDriver;
  /** A charging station under test: it gets the token from the bench's central system (remote start). */
  station?: StationCase;
}

/**
 * Plays a case's scenario on the bench in (scaled) real time: the load's total power setpoints and the EV's
 * control-pilot states and authorisation tokens, each at its scenario second, recording each signal as sent.
 */
export class Playback {
  private next = 0;
  private nextSignal = 0;
  /**
   * A setpoint the load could not take because its line was down is retried until it is taken: the case goes on
   * with a gap in the record instead of ending.
   */
  private unapplied?: TotalSetpoint;

  constructor(
    private readonly run: CaseRun,
    private readonly drivers: PlaybackDrivers,
    private readonly schedule: readonly TotalSetpoint[],
    private readonly signals: readonly EvSignal[],
    /** Scenario second the playback ends at. */
    private readonly endT: number,
    private readonly pollMs: number,
  ) {}

  /**
   * What is on at t = 0 (the standby base) is on before the case's clock starts, as in the scenario, and the DUT
   * settles on it unobserved.
   */
  async settle(): Promise<void> {
    const first = this.schedule[0];
    if (first && first.t === 0) {
      this.next = 1;
      await this.apply(first);
      if (first.p >= 1) await this.run.sleep((SETTLE_S / this.run.timeScale) * 1000);
    }
  }

  /** Plays every setpoint and signal due until the end; returns at the end or when the case halts. */
  async loop(): Promise<void> {
    const { run, schedule, signals, endT } = this;
    const { timeScale } = run;
    while (!run.halted) {
      const now = run.benchT();
      // Charge-point signals first: the pilot goes to C before the EV's current flows.
      while (this.nextSignal < signals.length && (signals[this.nextSignal] as EvSignal).t <= now) {
        await this.signal(signals[this.nextSignal++] as EvSignal);
      }
      if (this.unapplied && (this.next >= schedule.length || (schedule[this.next] as TotalSetpoint).t > now)) {
        await this.apply(this.unapplied);
      }
      while (this.next < schedule.length && (schedule[this.next] as TotalSetpoint).t <= now) {
        await this.apply(schedule[this.next++] as TotalSetpoint);
      }
      if (now >= endT) return;
      const nextStepT = Math.min(
        this.next < schedule.length ? (schedule[this.next] as TotalSetpoint).t : endT,
        this.nextSignal < signals.length ? (signals[this.nextSignal] as EvSignal).t : endT,
        // A setpoint the load has not taken yet is retried at the poll cadence.
        this.unapplied ? now + (this.pollMs / 1000) * timeScale : endT,
      );
      await run.sleep((nextStepT - run.benchT()) * (1000 / timeScale));
    }
  }

  private async apply(sp: TotalSetpoint): Promise<void> {
    const load = this.drivers.load;
    try {
      // A three-phase scenario on a three-phase load: each phase its own setpoint (else the total, on one).
      if (sp.phases && load?.dialect.phases) await load.applyPhases(sp.phases.map(loadSetpoint));
      else await load?.apply(loadSetpoint(sp));
      this.unapplied = undefined;
    } catch (e) {
      const code = (e as RigError).code;
      if (code !== 'DISCONNECTED' && code !== 'TIMEOUT' && code !== 'CLOSED') throw e;
      if (!this.unapplied) {
        this.run.gap(load?.transport.device ?? 'load', `setpoint not taken: ${(e as Error).message}`, code);
      }
      this.unapplied = sp;
    }
  }

  private async signal(sg: EvSignal): Promise<void> {
    const { board, cpPins, stream, station } = this.drivers;
    const { meterId, ctx } = this.run;
    if (sg.kind === 'cp' && board && cpPins) {
      board.setCp(sg.state, cpPins);
      ctx.observe(ENTRY.rigCp, { meterId, evId: sg.evId, t: this.run.benchT(), state: sg.state });
    } else if (sg.kind === 'authorize' && stream) {
      await stream.send({ type: 'authorize', contractId: sg.contractId });
      ctx.observe(ENTRY.rigAuth, { meterId, evId: sg.evId, t: this.run.benchT(), contractId: sg.contractId });
    } else if (sg.kind === 'authorize' && station) {
      const t = this.run.benchT();
      const answer = await station.presentToken(sg.contractId);
      ctx.observe(ENTRY.rigAuth, { meterId, evId: sg.evId, t, contractId: sg.contractId, remoteStart: answer });
    }
  }
}
