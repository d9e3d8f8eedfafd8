/**
 * The OCPP central system under a station fleet: 200 emulated stations (OCPP 2.0.1), each in a transaction sending
 * a meter value every second, against the bench's central system (strict schema validation, wire log, transaction
 * bookkeeping), side by side in the same run with ocpp-rpc's bare server answering every call at once (the floor the
 * library sets). Prints messages/s handled and the p50/p99 round trip a station sees for its meter value.
 */
import { RPCClient, RPCServer } from 'ocpp-rpc';
import { quantile } from 'simple-statistics';
import { meterValueOf } from '../protocols/ocpp-meter-values.js';
import { CentralSystem, type WireFrame } from '../rigs/drivers/ocpp-central.js';
import { EmulatedStation } from '../rigs/emulators/ocpp-station.js';

const STATIONS = 200;
const SECONDS = 10;
const KEY = 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721';

interface FleetResult {
  messagesPerS: number;
  p50Ms: number;
  p99Ms: number;
  answered: number;
}

/** Each station sends one meter value per second for SECONDS, starting at a random phase; round trips timed. */
async function drive(send: (i: number) => Promise<unknown>): Promise<FleetResult> {
  const rtts: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: STATIONS }, async (_, i) => {
      await new Promise((r) => setTimeout(r, (i * 1000) / STATIONS));
      for (let s = 0; s < SECONDS; s++) {
        const due = t0 + (i * 1000) / STATIONS + s * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const start = performance.now();
        await send(i);
        rtts.push(performance.now() - start);
      }
    }),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  return {
    messagesPerS: rtts.length / elapsedS,
    p50Ms: quantile(rtts, 0.5),
    p99Ms: quantile(rtts, 0.99),
    answered: rtts.length,
  };
}

async function benchCentral(): Promise<FleetResult & { wireFrames: number }> {
  const frames: WireFrame[] = [];
  const central = new CentralSystem({
    stations: Array.from({ length: STATIONS }, (_, i) => ({ identity: `CS-${i}`, version: 'ocpp2.0.1' as const })),
    onFrame: (f) => frames.push(f),
  });
  const url = await central.start();
  const meters = Array.from({ length: STATIONS }, () => ({ wh: 10_000 }));
  const stations = meters.map(
    (m, i) =>
      new EmulatedStation({
        url,
        identity: `CS-${i}`,
        version: 'ocpp2.0.1',
        ocmfKeyHex: KEY,
        energyWh: () => m.wh,
        powerW: () => 7400,
      }),
  );
  try {
    await Promise.all(stations.map((s) => s.connect()));
    await Promise.all(stations.map((s, i) => s.startTransaction(`EMA-${i}`)));
    const result = await drive(async (i) => {
      meters[i]!.wh += 2;
      await stations[i]!.sample();
    });
    return { ...result, wireFrames: frames.length };
  } finally {
    await Promise.all(stations.map((s) => s.close()));
    await central.close();
  }
}

async function benchBareServer(): Promise<FleetResult> {
  const server = new RPCServer({ protocols: ['ocpp2.0.1'] });
  server.on('client', (client: { handle(h: () => unknown): void }) => client.handle(() => ({})));
  const http = await server.listen(0, '127.0.0.1');
  const { port } = http.address() as { port: number };
  const clients = Array.from(
    { length: STATIONS },
    (_, i) =>
      new RPCClient({ endpoint: `ws://127.0.0.1:${port}`, identity: `CS-${i}`, protocols: ['ocpp2.0.1'] } as never),
  );
  const wh = Array.from({ length: STATIONS }, () => 10_000);
  let seq = 0;
  try {
    await Promise.all(clients.map((c) => c.connect()));
    // The same call the stations send: a TransactionEvent Updated with one meter value.
    return await drive((i) => {
      wh[i]! += 2;
      return clients[i]!.call('TransactionEvent', {
        eventType: 'Updated',
        timestamp: new Date().toISOString(),
        triggerReason: 'MeterValuePeriodic',
        seqNo: seq++,
        transactionInfo: { transactionId: `CS-${i}-1` },
        meterValue: [
          meterValueOf('ocpp2.0.1', {
            t: Date.now() / 1000,
            energyWh: wh[i]!,
            powerW: 7400,
            context: 'Sample.Periodic',
          }),
        ],
      });
    });
  } finally {
    await Promise.all(clients.map((c) => c.close({ force: true })));
    await server.close({ force: true });
  }
}

export async function benchOcpp() {
  const central = await benchCentral();
  const bare = await benchBareServer();
  const out = {
    stations: STATIONS,
    seconds: SECONDS,
    central,
    bareServer: bare,
    p99OverBare: central.p99Ms / bare.p99Ms,
    throughputOverBare: central.messagesPerS / bare.messagesPerS,
  };
  console.log(
    `  ${STATIONS} stations × 1 meter value/s for ${SECONDS} s (OCPP 2.0.1):\n` +
      `  central system: ${central.messagesPerS.toFixed(0)} msg/s, round trip p50 ${central.p50Ms.toFixed(2)} ms, p99 ${central.p99Ms.toFixed(2)} ms, ${central.wireFrames} frames logged\n` +
      `  bare ocpp-rpc server: ${bare.messagesPerS.toFixed(0)} msg/s, p50 ${bare.p50Ms.toFixed(2)} ms, p99 ${bare.p99Ms.toFixed(2)} ms\n` +
      `  central ÷ bare: p99 ${out.p99OverBare.toFixed(2)}×, throughput ${out.throughputOverBare.toFixed(3)}×`,
  );
  return out;
}
