import { SerialPort } from 'serialport';
import {
  type CommissionCommand,
  type MeterIdentityLine,
  streamCommandSchema,
} from '../../protocols/stream-commands.js';
import type { MeterOutputs } from '../outputs.js';
import { type LiveValues, newLiveValues } from './register-map.js';

/** Longest command line the stream face takes (a commission command is under 1 KiB). */
const MAX_LINE_BYTES = 64 * 1024;
/** How long close() waits for queued lines to go out (115200 Bd sends 16 KiB, a full write queue, in 1.4 s). */
const DRAIN_MS = 2000;

/**
 * The meter's outputs as its faces see them: live register values (for Modbus and the optical readout) and,
 * optionally, every output as one JSON line on a serial event/billing stream. Never raw samples.
 */
export class LiveFaces {
  readonly values: LiveValues = newLiveValues();
  private stream?: SerialPort;
  /** Measurement lines not sent because the line was backed up (only with `lossy`). */
  droppedLines = 0;

  /**
   * @param opts.lossy drop a measurement line when the port cannot take it (its write queue is full), as a UART
   * with no flow control loses what nobody reads. For emulated meters on PTYs: without it, the measurement lines
   * written while no driver reads pile up unbounded and a driver that connects later gets minutes-old lines before
   * the answer to its identify (which came too late). Answers, events and billing lines are never dropped.
   */
  constructor(private readonly opts: { lossy?: boolean } = {}) {}

  /** Opens the JSONL event/billing stream on a serial port. */
  async openStream(path: string, baudRate = 115200): Promise<void> {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    // Lines are cut from the bytes and decoded whole: decoding each chunk on its own would mangle a character UTF-8
    // spreads over two chunks (a contract id with an "Ä" or "€" would arrive changed).
    let pending = Buffer.alloc(0);
    // Set while the rest of a line over the bound is dropped: that line is one bad command, however it arrives.
    let overlong = false;
    port.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, i);
        start = i + 1;
        if (overlong || pending.length + piece.length > MAX_LINE_BYTES) this.reject('line longer than 64 KiB');
        else {
          const line = Buffer.concat([pending, piece]).toString('utf8').trim();
          if (line) this.command(line);
        }
        overlong = false;
        pending = Buffer.alloc(0);
      }
      if (overlong) return;
      pending = Buffer.concat([pending, chunk.subarray(start)]);
      // A line longer than this is garbage; dropping it keeps a babbling peer from growing the buffer.
      if (pending.length > MAX_LINE_BYTES) {
        pending = Buffer.alloc(0);
        overlong = true;
      }
    });
    port.on('error', () => undefined);
    this.stream = port;
  }

  /** Handlers of the commands the stream face accepts (see protocols/stream-commands.ts). */
  handlers: {
    authorize?: (contractId: string) => void;
    identify?: () => MeterIdentityLine;
    commission?: (c: CommissionCommand) => void;
    /** Sets the meter clock to the bench's time; the meter logs the offset it removed (a `log` line). */
    sync?: (clockUnix: number) => void;
  } = {};
  /** Lines that were not a valid command (counted; answered with a `log` line). */
  badCommands = 0;

  private command(line: string): void {
    let parsed: ReturnType<typeof streamCommandSchema.safeParse> | undefined;
    try {
      parsed = streamCommandSchema.safeParse(JSON.parse(line));
    } catch {
      parsed = undefined;
    }
    const c = parsed?.success ? parsed.data : undefined;
    if (c?.type === 'authorize' && this.handlers.authorize) this.handlers.authorize(c.contractId);
    else if (c?.type === 'identify' && this.handlers.identify) this.line('identity', this.handlers.identify());
    else if (c?.type === 'commission' && this.handlers.commission) {
      this.handlers.commission(c);
      this.line('log', { level: 'info', code: 'COMMISSIONED', message: `tariff v${c.tariffVersion}` });
    } else if (c?.type === 'sync' && this.handlers.sync) this.handlers.sync(c.clockUnix);
    else this.reject(`ignored: ${line.slice(0, 80)}`);
  }

  private reject(message: string): void {
    this.badCommands++;
    this.line('log', { level: 'warn', code: 'BAD_COMMAND', message });
  }

  private line(type: string, data: object): void {
    if (type === 'measurement' && this.opts.lossy && this.stream?.writableNeedDrain) {
      this.droppedLines++;
      return;
    }
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
          importKVarh: m.importVarh / 1000,
          exportKVarh: m.exportVarh / 1000,
          ...(m.phases && {
            phases: m.phases.map((ph) => ({
              voltage: ph.vrms,
              current: ph.irms,
              activePower: ph.p,
              reactivePower: ph.q,
              powerFactor: ph.pf,
              voltageThd: ph.voltageThdPct ?? 0,
              currentThd: ph.thdPct ?? 0,
              importKWh: ph.importWh / 1000,
              exportKWh: ph.exportWh / 1000,
              importKVarh: ph.importVarh / 1000,
              exportKVarh: ph.exportVarh / 1000,
            })),
          }),
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
    // The last lines go out first; but a PTY whose far end nobody reads never drains, and waiting for it hung the
    // emulators' teardown (and with it `bench certify --rig sim-serial` after Ctrl-C): past DRAIN_MS they are dropped.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DRAIN_MS);
      s.drain(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
