import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { synthesizeMeterSync } from '../profiles/synth.js';
import { benchmarkHouse } from './household.js';

/** Synthesizes `days` of the benchmark house at 50 Hz × 128 samples; returns cycles, seconds and peak RSS. */
export function synthesizeDays(days: number): { cycles: number; seconds: number; peakRssMB: number } {
  const scenario = benchmarkHouse(days);
  let peak = process.memoryUsage.rss();
  let cycles = 0;
  let checksum = 0;
  const t0 = performance.now();
  for (const b of synthesizeMeterSync(scenario, 'house-1', { seed: 1 })) {
    cycles += b.cycles;
    checksum += b.current[0]!;
    if (cycles % 50_000 < b.cycles) peak = Math.max(peak, process.memoryUsage.rss());
  }
  const seconds = (performance.now() - t0) / 1000;
  if (Number.isNaN(checksum)) throw new Error('synthesis produced NaN');
  return { cycles, seconds, peakRssMB: Math.max(peak, process.memoryUsage.rss()) / 2 ** 20 };
}

/** Each duration in its own process, so peak RSS is that duration's alone. */
function inChild(days: number): { cycles: number; seconds: number; peakRssMB: number } {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', String(days)], {
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

export async function benchSynthesis() {
  const day = inChild(1);
  const week = inChild(7);
  const speedup = (day.cycles / 50 / day.seconds).toFixed(0);
  console.log(`synthesis, house with an EV and 10 appliances, 50 Hz × 128 samples/cycle`);
  console.log(
    `  24 h: ${day.seconds.toFixed(1)} s  (${speedup}× real time; goal ≥ 5000×)  peak RSS ${day.peakRssMB.toFixed(0)} MB`,
  );
  console.log(
    `  7 d:  ${week.seconds.toFixed(1)} s  peak RSS ${week.peakRssMB.toFixed(0)} MB  (RSS 7 d ÷ 24 h = ${(week.peakRssMB / day.peakRssMB).toFixed(3)}; goal ≤ 1.10, < 256 MB)`,
  );
  return { day, week, speedupX: Number(speedup), rssRatio: week.peakRssMB / day.peakRssMB };
}

if (process.argv[2] === '--child') console.log(JSON.stringify(synthesizeDays(Number(process.argv[3]))));
else if (process.argv[1] === fileURLToPath(import.meta.url)) await benchSynthesis();
