import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import FFT from 'fft.js';
import { stringify } from 'yaml';
import { PACKAGE_ROOT } from '../core/version.js';
import { offlineMeter } from '../meter/factory.js';
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
 * The benchmark house's 24 h as a one-case suite through `bench certify` on the sim rig in a fresh process: the
 * whole pipeline (synthesis, meter, run record, analysis, billing on the embedded chain, every report). Peak RSS is
 * the child's own, written by a preloaded exit hook (the CLI ends with process.exit, so it cannot be asked after).
 */
function certifyDay(): { seconds: number; peakRssMB: number; verdict: string } {
  const dir = mkdtempSync(join(tmpdir(), 'perf-day-'));
  writeFileSync(join(dir, 'house-day.yaml'), stringify(benchmarkHouse(1)));
  const suite = {
    name: 'perf-day',
    version: 1,
    title: 'The benchmark house for 24 h',
    cases: [
      {
        id: 'house-day',
        title: 'An EV and 10 appliances for a day',
        scenario: 'house-day.yaml',
        criteria: [
          { metric: 'detection.f1', op: '>=', limit: 0.9, unit: '1', clause: 'bench NILM-1' },
          { metric: 'billing.missing', op: '==', limit: 0, unit: 'count', clause: 'bench BILL-1' },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'suite.yaml'), stringify(suite));
  const rssFile = join(dir, 'max-rss');
  const hook = `import fs from "node:fs"; process.on("exit", () => fs.writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));`;
  const t0 = performance.now();
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(hook)}`,
      join(PACKAGE_ROOT, 'bin/run.js'),
      'certify',
      '--suite',
      join(dir, 'suite.yaml'),
      '--json',
      '--runs-dir',
      join(dir, 'runs'),
      '--reports-dir',
      join(dir, 'reports'),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20 },
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    seconds,
    peakRssMB: Number(readFileSync(rssFile, 'utf8')) / 1024,
    verdict: (JSON.parse(out) as { verdict: string }).verdict,
  };
}

/**
 * 24 h of the benchmark house through the waveform pipeline: synthesis → meter (FFT, features, detection,
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
  const whole = certifyDay();
  console.log(
    `bench certify (default suite ev-billing, sim rig, embedded Ganache), cold: ${cold.toFixed(1)} s (goal ≤ 60 s)`,
  );
  console.log(
    `24 h waveform replay, synthesis → meter: ${day.seconds.toFixed(1)} s = ${speedup.toFixed(0)}× real time (goal ≥ 2000×, ≤ 43 s), peak RSS ${day.peakRssMB.toFixed(0)} MB`,
  );
  console.log(
    `  raw fft.js on the same frames: ${day.fftSeconds.toFixed(1)} s; pipeline ÷ raw FFT throughput = ${(day.fftSeconds / day.seconds).toFixed(2)}`,
  );
  console.log(
    `24 h through the whole pipeline (bench certify of a one-case suite: synthesis, meter, record, analysis, chain, reports): ${whole.seconds.toFixed(1)} s = ${(86400 / whole.seconds).toFixed(0)}× real time (goal ≤ 43 s), ${whole.verdict}, peak RSS ${whole.peakRssMB.toFixed(0)} MB; raw fft.js on the same frames ÷ it = ${(day.fftSeconds / whole.seconds).toFixed(2)}`,
  );
  return {
    wholePipelineSeconds: whole.seconds,
    wholePipelinePeakRssMB: whole.peakRssMB,
    wholePipelineToFftRatio: day.fftSeconds / whole.seconds,
    coldSeconds: cold,
    replaySeconds: day.seconds,
    speedupX: speedup,
    pipelineToFftRatio: day.fftSeconds / day.seconds,
    peakRssMB: day.peakRssMB,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchCertify();
