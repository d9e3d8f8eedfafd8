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
  private mode: 'current' | 'power' | 'resistance' | 'rectified' = 'current';
  private currentA = 0;
  private powerW = 0;
  private pf = 1;
  private cf = Math.SQRT2;
  private on = false;
  private readonly errors: string[] = [];
  readonly log: string[] = [];

  constructor(
    private readonly physics: BenchPhysics,
    private readonly now: () => number = () => performance.now(),
    readonly dialect: ScpiDialect = SCPI_DIALECTS['chroma-63800'] as ScpiDialect,
  ) {}

  private apply(): void {
    const p = !this.on ? 0 : this.mode === 'power' ? this.powerW : this.currentA * this.physics.voltage * this.pf;
    this.physics.setLoad(this.now(), p, this.pf);
  }

  handleLine(line: string): string | undefined {
    const cmd = line.trim();
    if (!cmd) return undefined;
    this.log.push(cmd);
    const c = this.dialect.commands;
    const upper = cmd.toUpperCase();
    if (upper === '*IDN?') return this.identity;
    if (upper === '*RST') {
      this.on = false;
      this.mode = 'current';
      this.currentA = 0;
      this.powerW = 0;
      this.pf = 1;
      this.errors.length = 0;
      this.apply();
      return undefined;
    }
    if (upper === '*OPC?') return '1';
    if (upper === 'SYST:ERR?') return this.errors.shift() ?? '0,"No error"';
    if (upper === c.measurePower) {
      this.physics.advance(this.now());
      return this.physics.powerW.toFixed(3);
    }
    if (upper === c.measureCurrent) return this.physics.currentA.toFixed(4);
    for (const [mode, text] of Object.entries(c.mode)) {
      if (upper === text) {
        this.mode = mode as typeof this.mode;
        return undefined;
      }
    }
    if (upper === c.loadOn) {
      this.on = true;
      this.apply();
      return undefined;
    }
    if (upper === c.loadOff) {
      this.on = false;
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
        if (this.on) this.apply();
      }
      return true;
    };
    if (set(num(c.power), L.powerW, (v) => (this.powerW = v))) return undefined;
    if (set(num(c.current), L.currentA, (v) => (this.currentA = v))) return undefined;
    if (set(num(c.powerFactor), L.powerFactor, (v) => (this.pf = v))) return undefined;
    if (set(num(c.crestFactor), L.crestFactor, (v) => (this.cf = v))) return undefined;
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
    return this.cf;
  }
}
