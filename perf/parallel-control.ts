import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const FFT_JS = createRequire(import.meta.url).resolve('fft.js');

/**
 * fft.js on `frames` 128-point frames in a worker thread of its own; resolves with the thread's wall seconds. Frames
 * come from a seeded generator, so every thread and run does the same work.
 */
function fftThread(frames: number): Promise<number> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const FFT = require(workerData.fftJs);
    const fft = new FFT(128);
    const out = fft.createComplexArray();
    const input = new Float64Array(128);
    let s = 1;
    for (let i = 0; i < 128; i++) { s = (s * 16807) % 2147483647; input[i] = s / 2147483647 - 0.5; }
    const t0 = performance.now();
    for (let f = 0; f < workerData.frames; f++) { input[f & 127] += 1e-9; fft.realTransform(out, input); }
    parentPort.postMessage((performance.now() - t0) / 1000);
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { frames, fftJs: FFT_JS } });
    w.once('message', (s: number) => {
      resolve(s);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

/**
 * What this machine gives a perfectly parallel job at this moment: the same FFT work done by two threads at once ÷
 * by one. 0.5 on two equal, idle cores; more when the second core is slower or busy (on the VMs this runs on, one
 * vCPU measured 1.5× slower than the other). It is the floor for any "2 workers ÷ 1" measured beside it.
 */
export async function parallelFftRatio(frames = 2_000_000): Promise<{ one: number; two: number; ratio: number }> {
  const one = await fftThread(frames);
  const t0 = performance.now();
  await Promise.all([fftThread(frames / 2), fftThread(frames / 2)]);
  const two = (performance.now() - t0) / 1000;
  return { one, two, ratio: two / one };
}
