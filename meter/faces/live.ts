import { SerialPort } from 'serialport';
import type { MeterOutputs } from '../reference-meter.js';
import { type LiveValues, newLiveValues } from './register-map.js';

/**
 * The meter's outputs as its faces see them: live register values (for Modbus and the optical readout) and,
 * optionally, every output as one JSON line on a serial event/billing stream. Never raw samples.
 */
export class LiveFaces {
  readonly values: LiveValues = newLiveValues();
  private stream?: SerialPort;

  /** Opens the JSONL event/billing stream on a serial port. */
  async openStream(path: string, baudRate = 115200): Promise<void> {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.stream = port;
  }

  private line(type: string, data: object): void {
    this.stream?.write(`${JSON.stringify({ type, ...data })}\n`);
  }

  outputs(): MeterOutputs {
    return {
      event: (e) => {
        this.values.events++;
        this.line('event', e);
      },
      measurement: (m) => {
        Object.assign(this.values, {
          voltage: m.vrms,
          current: m.irms,
          activePower: m.p,
          reactivePower: m.q,
          powerFactor: m.pf,
          importKWh: m.importWh / 1000,
          exportKWh: m.exportWh / 1000,
        });
        this.line('measurement', m);
      },
      billing: (b) => {
        this.values.billingRecords++;
        this.line('billing', b);
      },
      report: (r) => this.line('report', r),
      log: (l) => this.line('log', l),
      pulse: (p) => this.line('pulse', p),
    };
  }

  async close(): Promise<void> {
    const s = this.stream;
    if (!s?.isOpen) return;
    await new Promise<void>((resolve) => s.drain(() => s.close(() => resolve())));
  }
}
