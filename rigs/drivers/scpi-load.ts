import { RigError } from '../../core/errors.js';
import type { Transport } from '../transports/transport.js';
import { SCPI_DIALECTS, type ScpiDialect } from './scpi-dialects.js';

/** An IEEE 488.2 decimal numeric response (NR1, NR2 or NR3). */
export const SCPI_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export type LoadSetpoint =
  | { kind: 'power'; watts: number; powerFactor?: number; crestFactor?: number }
  | { kind: 'current'; amps: number; powerFactor?: number; crestFactor?: number }
  | { kind: 'off' };

/** SCPI programmable AC load driver: IEEE 488.2 handling + a dialect table; SYST:ERR? after every setpoint. */
export class ScpiLoadDriver {
  readonly dialect: ScpiDialect;
  private active = false;
  /** A three-phase load whose phases a setpoint has addressed since the last *RST (see apply). */
  private phasesAddressed = false;
  identity = '';

  constructor(
    readonly transport: Transport,
    dialect: string | ScpiDialect,
  ) {
    const d = typeof dialect === 'string' ? SCPI_DIALECTS[dialect] : dialect;
    if (!d)
      throw new RigError(`unknown SCPI dialect ${String(dialect)}`, { device: transport.device, code: 'DIALECT' });
    this.dialect = d;
  }

  private err(message: string, code: string): RigError {
    return new RigError(message, { device: this.transport.device, code });
  }

  async query(cmd: string): Promise<string> {
    const r = await this.transport.request(`${cmd}\n`);
    return r.toString('latin1').replace(/\r$/, '').trim();
  }
  async send(cmd: string): Promise<void> {
    await this.transport.write(`${cmd}\n`);
  }

  /** labgrid-style activate: open, *IDN? (checked against the dialect), *RST, *OPC?. */
  async activate(): Promise<string> {
    await this.transport.open();
    const idn = await this.query('*IDN?');
    if (!new RegExp(this.dialect.idnPattern).test(idn)) {
      throw this.err(`unexpected identity "${idn}" for dialect ${this.dialect.name}`, 'IDENTITY');
    }
    this.identity = idn;
    await this.send('*RST');
    this.phasesAddressed = false;
    await this.opc();
    await this.checkErrors();
    this.active = true;
    return idn;
  }

  async opc(): Promise<void> {
    const r = await this.query('*OPC?');
    if (r !== '1') throw this.err(`*OPC? answered "${r}"`, 'BAD_FRAME');
  }

  /** Reads SYST:ERR?; "0,..." is clean, any other instrument error becomes a RigError. */
  async checkErrors(): Promise<void> {
    const r = await this.query('SYST:ERR?');
    const m = /^([+-]?\d+)\s*,\s*"?([^"]*)"?$/.exec(r);
    if (!m) throw this.err(`malformed SYST:ERR? answer "${r}"`, 'BAD_FRAME');
    if (Number(m[1]) !== 0) throw this.err(`instrument error ${m[1]}: ${m[2]}`, 'INSTRUMENT_ERROR');
  }

  private fmt(template: string, v: number): string {
    return template.replace('{v}', v.toFixed(this.dialect.decimals));
  }

  private check(name: string, v: number, [lo, hi]: [number, number], unit: string): void {
    if (!Number.isFinite(v) || v < lo || v > hi) {
      throw this.err(`${name} ${v} ${unit} outside the load's range ${lo}..${hi} ${unit} (not clamped)`, 'RANGE');
    }
  }

  /** The list of commands a setpoint becomes; validates every value first (nothing is sent when one is bad). */
  commandsFor(sp: LoadSetpoint): string[] {
    const c = this.dialect.commands;
    const L = this.dialect.limits;
    if (sp.kind === 'off') return [c.loadOff];
    const out: string[] = [];
    if (sp.kind === 'power') {
      this.check('power', sp.watts, L.powerW, 'W');
      out.push(c.mode.power, this.fmt(c.power, sp.watts));
    } else {
      this.check('current', sp.amps, L.currentA, 'A');
      out.push(c.mode.current, this.fmt(c.current, sp.amps));
    }
    if (sp.powerFactor !== undefined) {
      this.check('power factor', sp.powerFactor, L.powerFactor, '');
      out.push(this.fmt(c.powerFactor, sp.powerFactor));
    }
    if (sp.crestFactor !== undefined) {
      this.check('crest factor', sp.crestFactor, L.crestFactor, '');
      out.push(this.fmt(c.crestFactor, sp.crestFactor));
    }
    out.push(c.loadOn);
    return out;
  }

  async apply(sp: LoadSetpoint): Promise<void> {
    // Once its phases have been addressed, a three-phase load takes every setpoint per phase: a single one is L1's
    // with L2 and L3 off (an unaddressed command would go to the phase selected last, and wait for the latch).
    if (this.phasesAddressed) return this.applyPhases([sp, { kind: 'off' }, { kind: 'off' }]);
    const cmds = this.commandsFor(sp);
    for (const cmd of cmds) await this.send(cmd);
    await this.checkErrors();
  }

  /**
   * The commands for one setpoint per phase (L1, L2, L3) of a three-phase load: each phase selected, then its
   * setpoint; every value checked against the per-phase ratings first (nothing is sent when one is bad).
   */
  commandsForPhases(setpoints: readonly LoadSetpoint[]): string[] {
    const phases = this.dialect.phases;
    if (!phases) throw this.err(`dialect ${this.dialect.name} is a single-phase load`, 'DIALECT');
    if (setpoints.length !== phases.count)
      throw this.err(`a three-phase load takes ${phases.count} setpoints, not ${setpoints.length}`, 'RANGE');
    const perPhase = setpoints.map((sp) => this.commandsFor(sp));
    const commands = perPhase.flatMap((cmds, i) => [phases.select.replace('{n}', String(i + 1)), ...cmds]);
    return phases.apply ? [...commands, phases.apply] : commands;
  }

  async applyPhases(setpoints: readonly LoadSetpoint[]): Promise<void> {
    const commands = this.commandsForPhases(setpoints);
    this.phasesAddressed = true;
    for (const cmd of commands) await this.send(cmd);
    await this.checkErrors();
  }

  async measurePower(): Promise<number> {
    const r = await this.query(this.dialect.commands.measurePower);
    // Number() reads "" and " " as 0 and accepts "0x1F": an empty (truncated) answer would read as 0 W.
    // Only an IEEE 488.2 decimal numeric answer (NR1/NR2/NR3) is a reading.
    const v = SCPI_NUMBER.test(r) ? Number(r) : Number.NaN;
    if (!Number.isFinite(v)) throw this.err(`bad power reading "${r}"`, 'BAD_FRAME');
    return v;
  }

  /** Safe state: load off, transport released. */
  async deactivate(): Promise<void> {
    try {
      const phases = this.dialect.phases;
      if (this.active && phases)
        for (let n = 1; n <= phases.count; n++) {
          await this.send(phases.select.replace('{n}', String(n)));
          await this.send(this.dialect.commands.loadOff);
        }
      if (this.active && phases?.apply) await this.send(phases.apply);
      else if (this.active) await this.send(this.dialect.commands.loadOff);
    } finally {
      this.active = false;
      await this.transport.close();
    }
  }
}
