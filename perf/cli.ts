import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mean, quantile } from 'simple-statistics';
import { PACKAGE_ROOT } from '../core/version.js';

const RUNS = 15;

/** Wall time of one fresh process, in ms. */
function spawnMs(args: string[]): number {
  const t0 = performance.now();
  execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return performance.now() - t0;
}

function sample(args: string[]): number[] {
  spawnMs(args); // first run warms the OS file cache, as on a lab machine that has used bench before
  return Array.from({ length: RUNS }, () => spawnMs(args));
}

/**
 * `bench --help` start-up, side by side with a bare `node -e ''` in the same run, so the figure separates what
 * oclif and our commands cost from what Node itself costs on this machine.
 */
export async function benchCli() {
  const help = sample([join(PACKAGE_ROOT, 'bin/run.js'), '--help']);
  const bare = sample(['-e', '']);
  const r = {
    helpMedianMs: quantile(help, 0.5),
    helpP90Ms: quantile(help, 0.9),
    helpMeanMs: mean(help),
    nodeMedianMs: quantile(bare, 0.5),
    helpOverNode: quantile(help, 0.5) / quantile(bare, 0.5),
  };
  console.log(
    `bench --help: median ${r.helpMedianMs.toFixed(0)} ms, p90 ${r.helpP90Ms.toFixed(0)} ms over ${RUNS} runs (goal < 400 ms); ` +
      `bare node median ${r.nodeMedianMs.toFixed(0)} ms in the same run; ratio ${r.helpOverNode.toFixed(2)}`,
  );
  return r;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchCli();
