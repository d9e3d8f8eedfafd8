import { SCPI_DIALECTS, type ScpiDialect } from '../drivers/scpi-dialects.js';
import { SCPI_NUMBER } from '../drivers/scpi-load.js';
import type { InProcessEndpoint } from '../transports/sim.js';
import type { BenchPhysics } from './physics.js';

/** Entries the error queue holds (SCPI-99 §21.8: bounded; when full, the last one becomes -350 Queue overflow). */
export const SCPI_ERROR_QUEUE_SIZE = 16;

/**
 * A Chroma-style programmable AC load: answers IEEE 488.2 common commands and the dialect's setpoint commands,
 * keeps an error queue (SYST:ERR?), and drives the shared physics when the load is on.
 */
export class ScpiLoadEmulator implements InProcessEndpoint {
  identity = 'CHROMA,63804,EMU0001,1.00';
  /** One unit per phase of a three-phase dialect (selected with its INST:NSEL), else one. */
  private readonly units: Unit[];
  private selected = 0;
  /**
   * Set by the first phase selection since *RST: until then a three-phase load's setpoints go to its first unit
   * and the bench is a single-phase one (as a Chroma sends unaddressed commands to channel 1).
   */
  private threePhase = false;
  private readonly errors: string[] = [];
  readonly log: string[] = [];

  constructor(
    private readonly physics: BenchPhysics,
    private readonly now: () => number = () => performance.now(),
    readonly dialect: ScpiDialect = SCPI_DIALECTS['chroma-63800'] as ScpiDialect,
  ) {
    this.units = Array.from({ length: dialect.phases?.count ?? 1 }, newUnit);
  }

  private get unit(): Unit {
    return this.units[this.selected]!;
  }

  private drawW(u: Unit): number {
    return !u.on ? 0 : u.mode === 'power' ? u.powerW : u.currentA * this.physics.voltage * u.pf;
  }

  /**
   * The units' settings reach the physics: at once, or on a three-phase load whose dialect latches them, at its
   * apply command (all phases in one instant).
   */
  private apply(latched = false): void {
    if (this.threePhase && this.dialect.phases?.apply && !latched) return;
    if (this.threePhase)
      this.physics.setLoadPhases(
        this.now(),
        this.units.map((u) => ({ powerW: this.drawW(u), powerFactor: u.pf })),
      );
    else this.physics.setLoad(this.now(), this.drawW(this.unit), this.unit.pf);
  }

  handleLine(line: string): string | undefined {
    const cmd = line.trim();
    if (!cmd) return undefined;
    this.log.push(cmd);
    const c = this.dialect.commands;
    const upper = cmd.toUpperCase();
    if (upper === '*IDN?') return this.identity;
    if (upper === '*RST') {
      for (const u of this.units) Object.assign(u, newUnit());
      this.selected = 0;
      this.threePhase = false;
      this.errors.length = 0;
      this.apply();
      return undefined;
    }
    if (upper === '*OPC?') return '1';
    if (this.dialect.phases?.apply && upper === this.dialect.phases.apply.toUpperCase()) {
      if (this.threePhase) this.apply(true);
      return undefined;
    }
    if (upper === 'SYST:ERR?') return this.errors.shift() ?? '0,"No error"';
    if (upper === c.measurePower) {
      this.physics.advance(this.now());
      // A three-phase load measures the selected phase, as each unit measures its own.
      const p = this.threePhase ? (this.physics.phases?.[this.selected]?.powerW ?? 0) : this.physics.powerW;
      return p.toFixed(3);
    }
    if (upper === c.measureCurrent) return this.physics.currentA.toFixed(4);
    for (const [mode, text] of Object.entries(c.mode)) {
      if (upper === text) {
        this.unit.mode = mode as Unit['mode'];
        return undefined;
      }
    }
    if (upper === c.loadOn) {
      this.unit.on = true;
      this.apply();
      return undefined;
    }
    if (upper === c.loadOff) {
      this.unit.on = false;
      this.apply();
      return undefined;
    }
    // undefined: not this command; NaN: not a decimal number (Number() alone would take "0x10" or "0b1").
    const num = (tpl: string): number | undefined => {
      const prefix = tpl.replace('{v}', '').trim().toUpperCase();
      if (!upper.startsWith(`${prefix} `)) return undefined;
      const arg = cmd.slice(prefix.length + 1).trim();
      return SCPI_NUMBER.test(arg) ? Number(arg) : Number.NaN;
    };
    const L = this.dialect.limits;
    const set = (v: number | undefined, [lo, hi]: [number, number], assign: (v: number) => void): boolean => {
      if (v === undefined) return false;
      if (Number.isNaN(v)) this.pushError('-104,"Data type error"');
      else if (!Number.isFinite(v) || v < lo || v > hi) this.pushError('-222,"Data out of range"');
      else {
        assign(v);
        if (this.unit.on) this.apply();
      }
      return true;
    };
    const phases = this.dialect.phases;
    const n = phases ? num(phases.select.replace('{n}', '{v}')) : undefined;
    if (n !== undefined) {
      // A phase number: 1 to count, whole (SCPI-99 INSTrument:NSELect); anything else is out of range.
      if (Number.isNaN(n)) this.pushError('-104,"Data type error"');
      else if (!Number.isInteger(n) || n < 1 || n > phases!.count) this.pushError('-222,"Data out of range"');
      else {
        this.selected = n - 1;
        this.threePhase = true;
      }
      return undefined;
    }
    if (set(num(c.power), L.powerW, (v) => (this.unit.powerW = v))) return undefined;
    if (set(num(c.current), L.currentA, (v) => (this.unit.currentA = v))) return undefined;
    if (set(num(c.powerFactor), L.powerFactor, (v) => (this.unit.pf = v))) return undefined;
    if (set(num(c.crestFactor), L.crestFactor, (v) => (this.unit.cf = v))) return undefined;
    this.pushError('-113,"Undefined header"');
    return undefined;
  }

  private pushError(e: string): void {
    if (this.errors.length < SCPI_ERROR_QUEUE_SIZE) this.errors.push(e);
    else this.errors[SCPI_ERROR_QUEUE_SIZE - 1] = '-350,"Queue overflow"';
  }

  handle(frame: Buffer): Buffer[] {
    const r = this.handleLine(frame.toString('latin1'));
    return r === undefined ? [] : [Buffer.from(r)];
  }

  get crestFactor(): number {
    return this.unit.cf;
  }
}

/** One load unit's settings (a phase of a three-phase load). */
interface Unit {
  mode: 'current' | 'power' | 'resistance' | 'rectified';
  currentA: number;
  powerW: number;
  pf: number;
  cf: number;
  on: boolean;
}

const newUnit = (): Unit => ({ mode: 'current', currentA: 0, powerW: 0, pf: 1, cf: Math.SQRT2, on: false });
