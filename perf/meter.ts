import { fileURLToPath } from 'node:url';
import FFT from 'fft.js';
import { offlineMeter } from '../meter/factory.js';
import { synthesizeMeterSync } from '../profiles/synth.js';
import type { CycleBlock } from '../profiles/waveform.js';
import { benchmarkHouse } from './household.js';

const N = 128;
const BLOCK = 50;

/** Ten busy minutes (EV charging, appliances switching) held in memory, replayed as often as needed. */
export function busyFrames(): CycleBlock[] {
  const scenario = benchmarkHouse(1);
  const blocks: CycleBlock[] = [];
  for (const b of synthesizeMeterSync(scenario, 'house-1', { seed: 1, from: 64_500, to: 65_100, blockCycles: BLOCK })) {
    blocks.push({ ...b, voltage: Float64Array.from(b.voltage), current: Float64Array.from(b.current) });
  }
  return blocks;
}

/** Raw fft.js on the same frames: two real transforms (voltage and current) per cycle, nothing else. */
export function rawFftCyclesPerSecond(blocks: readonly CycleBlock[], cycles: number): number {
  const fft = new FFT(N);
  const out = fft.createComplexArray();
  let sink = 0;
  let done = 0;
  const t0 = performance.now();
  while (done < cycles) {
    for (const b of blocks) {
      for (let c = 0; c < b.cycles; c++) {
        fft.realTransform(out, b.voltage.subarray(c * N, (c + 1) * N) as unknown as number[]);
        sink += out[2];
        fft.realTransform(out, b.current.subarray(c * N, (c + 1) * N) as unknown as number[]);
        sink += out[3];
      }
      done += b.cycles;
      if (done >= cycles) break;
    }
  }
  if (Number.isNaN(sink)) throw new Error('NaN');
  return done / ((performance.now() - t0) / 1000);
}

/** The reference meter (DSP, detection, identification, sessions) over `cycles` cycles of the busy frames. */
export function meterCyclesPerSecond(blocks: readonly CycleBlock[], cycles: number): { rate: number; events: number } {
  let events = 0;
  const { meter, close } = offlineMeter({
    meterId: 'house-1',
    seed: 1,
    outputs: { event: () => events++ },
    samplesPerCycle: N,
  });
  const span = blocks.reduce((s, b) => s + b.cycles, 0) / 50;
  let done = 0;
  let lap = 0;
  const t0 = performance.now();
  while (done < cycles) {
    for (const b of blocks) {
      meter.processBlock({ ...b, t0: b.t0 - blocks[0]!.t0 + lap * span });
      done += b.cycles;
      if (done >= cycles) break;
    }
    lap++;
  }
  const rate = done / ((performance.now() - t0) / 1000);
  close();
  return { rate, events };
}

export async function benchMeter() {
  const blocks = busyFrames();
  const cycles = 24 * 3600 * 50;
  // Alternating rounds, so whatever else the machine does weighs on both measurements alike.
  const rounds = 8;
  let rawTime = 0;
  let meterTime = 0;
  let events = 0;
  for (let r = 0; r < rounds; r++) {
    rawTime += cycles / 4 / rounds / rawFftCyclesPerSecond(blocks, cycles / 4 / rounds);
    const m = meterCyclesPerSecond(blocks, cycles / rounds);
    meterTime += cycles / rounds / m.rate;
    events += m.events;
  }
  const raw = cycles / 4 / rawTime;
  const meter = { rate: cycles / meterTime, events };
  const ratio = meter.rate / raw;
  console.log(`meter DSP + detection on 24 h of cycles (replayed busy 10 min, ${meter.events} events)`);
  console.log(
    `  reference meter: ${Math.round(meter.rate).toLocaleString()} cycles/s (${(meter.rate / 50).toFixed(0)}× real time; goal ≥ 100,000 cycles/s)`,
  );
  console.log(
    `  raw fft.js (2 real transforms per cycle, same frames, same run): ${Math.round(raw).toLocaleString()} cycles/s`,
  );
  console.log(`  ratio meter ÷ raw FFT = ${ratio.toFixed(2)} (goal ≥ 0.4)`);
  return { meterCyclesPerS: meter.rate, rawFftCyclesPerS: raw, ratio };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchMeter();
