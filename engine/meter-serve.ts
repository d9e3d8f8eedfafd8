import { setTimeout as sleep } from 'node:timers/promises';
import { RigError } from '../core/errors.js';
import type { MeterConfigInput } from '../meter/config.js';
import { parseMeterConfig } from '../meter/config.js';
import { serveIec62056 } from '../meter/faces/iec62056.js';
import { LiveFaces } from '../meter/faces/live.js';
import { type ModbusFace, serveModbusRtu, serveModbusTcp } from '../meter/faces/modbus.js';
import { offlineMeter } from '../meter/factory.js';
import type { Scenario } from '../profiles/scenario-schema.js';
import { synthesizeMeterSync } from '../profiles/synth.js';

export interface ServeOptions {
  scenario: Scenario;
  meterId: string;
  config: MeterConfigInput;
  seed: number;
  modbusTcp?: { host: string; port: number };
  modbusRtu?: { path: string; baudRate?: number };
  stream?: { path: string; baudRate?: number };
  /** IEC 62056-21 mode C optical readout on this serial port. */
  optical?: { path: string };
  /** Play the scenario this many times faster than real time (1 = wall clock, as on a bench). */
  speed: number;
  signal: AbortSignal;
  onReady?: (faces: string[]) => void;
}

/** Opens a serial face; a port that cannot be opened is a RigError naming the flag and the path, with what to do. */
async function opening<T>(flag: string, path: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (e) {
    throw new RigError(`${path}: cannot open the port (${(e as Error).message.replace(/^Error: /, '')})`, {
      device: flag,
      code: 'NO_DEVICE',
      cause: e,
      actions: [
        'Name a serial port that exists: a USB adapter (/dev/ttyUSB0) or one end of a PTY pair, e.g. `socat -d -d pty,raw,echo=0,link=/tmp/meter pty,raw,echo=0,link=/tmp/client` and serve on /tmp/meter.',
      ],
    });
  }
}

/**
 * Runs the reference meter on a scenario in (scaled) real time and serves its faces: Modbus TCP, Modbus RTU, the
 * IEC 62056-21 optical readout and the JSONL event/billing stream, which also takes authorize, identify and sync
 * commands. No ledger is attached here: billing records go out on the stream, and the meter's store-and-forward file
 * (which holds them until a ledger would acknowledge them) is a temporary one, removed when serving ends.
 */
export async function serveMeter(
  o: ServeOptions,
): Promise<{ seconds: number; events: number; billingRecords: number }> {
  const scenario = o.scenario;
  const house = scenario.houses.find((h) => h.id === o.meterId) ?? scenario.houses[0]!;
  const live = new LiveFaces();
  const faces: ModbusFace[] = [];
  const described: string[] = [];
  const parsed = parseMeterConfig(o.config);
  const epochS = Date.parse(scenario.start) / 1000;
  try {
    if (o.stream) {
      const stream = o.stream;
      await opening('--stream', stream.path, () => live.openStream(stream.path, stream.baudRate));
      described.push(`jsonl stream on ${o.stream.path}`);
    }
    if (o.modbusTcp) {
      faces.push(await serveModbusTcp(() => live.values, o.modbusTcp));
      described.push(`modbus tcp ${o.modbusTcp.host}:${o.modbusTcp.port}`);
    }
    if (o.modbusRtu) {
      const rtu = o.modbusRtu;
      faces.push(await opening('--modbus-rtu', rtu.path, () => serveModbusRtu(() => live.values, rtu)));
      described.push(`modbus rtu on ${o.modbusRtu.path}`);
    }
    if (o.optical) {
      const optical = o.optical;
      const identity = {
        manufacturer: 'BEN',
        identification: 'RM1',
        serial: `RM-${house.id}`,
        firmware: parsed.firmwareVersion,
        maxBaud: '5',
      };
      faces.push(await opening('--optical', optical.path, () => serveIec62056(() => live.values, identity, optical)));
      described.push(`iec 62056-21 optical readout on ${o.optical.path}`);
    }
    const { meter, close } = offlineMeter({
      meterId: house.id,
      hostContractId: house.contract,
      epochS,
      seed: o.seed,
      config: o.config,
      outputs: live.outputs(),
      frequency: scenario.frequency,
    });
    // Scenario time the meter has measured up to: commands on the stream act at this instant.
    let seconds = 0;
    live.handlers = {
      authorize: (contractId) => meter.authorize(contractId, seconds),
      identify: () => meter.identity(),
      sync: (clockUnix) => meter.syncClock(seconds, clockUnix - epochS, 'stream'),
    };
    o.onReady?.(described);
    const t0 = performance.now();
    for (const block of synthesizeMeterSync(scenario, house.id, { seed: o.seed })) {
      if (o.signal.aborted) break;
      meter.processBlock(block);
      seconds = block.t0 + block.cycles / block.frequency;
      const due = (seconds / o.speed) * 1000 - (performance.now() - t0);
      if (due > 0) await sleep(due, undefined, { signal: o.signal }).catch(() => {});
    }
    close();
    return { seconds, events: live.values.events, billingRecords: live.values.billingRecords };
  } finally {
    for (const f of faces) await f.close();
    await live.close();
  }
}
