import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import FFT from 'fft.js';
import { PACKAGE_ROOT } from '../engine/version.js';
import { offlineMeter } from '../meter/replay.js';
import { synthesizeMeterSync } from '../profiles/synth.js';
import { benchmarkHouse } from './household.js';

/** `bench certify` with no flags, cold: a fresh process, the default suite on `sim`, embedded Ganache. */
function certifyColdSeconds(): number {
  const dir = mkdtempSync(join(tmpdir(), 'perf-certify-'));
  const t0 = performance.now();
  execFileSync(
    process.execPath,
    [
      join(PACKAGE_ROOT, 'bin/run.js'),
      'certify',
      '--json',
      '--runs-dir',
      join(dir, 'runs'),
      '--reports-dir',
      join(dir, 'reports'),
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return (performance.now() - t0) / 1000;
}

/**
 * 24 h of the benchmark house through the whole waveform pipeline: synthesis → meter (FFT, features, detection,
 * identification, sessions), with raw fft.js on the same frames timed in the same pass.
 */
function replayDay(): { seconds: number; fftSeconds: number; cycles: number; peakRssMB: number } {
  const { meter } = offlineMeter({ meterId: 'house-1', seed: 1 });
  const fft = new FFT(128);
  const spec = fft.createComplexArray();
  let fftSeconds = 0;
  let cycles = 0;
  let peak = 0;
  const t0 = performance.now();
  for (const b of synthesizeMeterSync(benchmarkHouse(1), 'house-1', { seed: 1 })) {
    meter.processBlock(b);
    const f0 = performance.now();
    for (let c = 0; c < b.cycles; c++) {
      fft.realTransform(spec, b.voltage.subarray(c * 128, (c + 1) * 128) as unknown as number[]);
      fft.realTransform(spec, b.current.subarray(c * 128, (c + 1) * 128) as unknown as number[]);
    }
    fftSeconds += (performance.now() - f0) / 1000;
    cycles += b.cycles;
    if (cycles % 100_000 < b.cycles) peak = Math.max(peak, process.memoryUsage.rss());
  }
  const total = (performance.now() - t0) / 1000;
  return { seconds: total - fftSeconds, fftSeconds, cycles, peakRssMB: peak / 2 ** 20 };
}

export async function benchCertify() {
  const cold = certifyColdSeconds();
  const day = replayDay();
  const speedup = day.cycles / 50 / day.seconds;
  console.log(
    `bench certify (default suite ev-billing, sim rig, embedded Ganache), cold: ${cold.toFixed(1)} s (goal ≤ 60 s)`,
  );
  console.log(
    `24 h waveform replay, synthesis → meter: ${day.seconds.toFixed(1)} s = ${speedup.toFixed(0)}× real time (goal ≥ 2000×, ≤ 43 s), peak RSS ${day.peakRssMB.toFixed(0)} MB`,
  );
  console.log(
    `  raw fft.js on the same frames: ${day.fftSeconds.toFixed(1)} s; pipeline ÷ raw FFT throughput = ${(day.fftSeconds / day.seconds).toFixed(2)}`,
  );
  return {
    coldSeconds: cold,
    replaySeconds: day.seconds,
    speedupX: speedup,
    pipelineToFftRatio: day.fftSeconds / day.seconds,
    peakRssMB: day.peakRssMB,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchCertify();
