import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './cli.js';

export interface ServedLine {
  event: string;
  id?: string;
  status?: string;
  emulatorPath?: string;
}

/**
 * A lab's rig file served by `bench sim up --rig FILE --dir DIR` (emulators on PTYs and ports of their own) for
 * the time `use` takes: it gets the served rig file (`DIR/rig.yaml`) and the lines `sim up` printed, and the
 * emulators are stopped (SIGINT) after, whatever happens.
 */
export async function withServedRig<T>(
  rigFile: string,
  dir: string,
  timeScale: number,
  use: (servedRig: string, lines: ServedLine[]) => Promise<T>,
): Promise<T> {
  const proc = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin/run.js'),
      'sim',
      'up',
      '--rig',
      rigFile,
      '--dir',
      dir,
      '--time-scale',
      String(timeScale),
      '--json',
    ],
    { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    const lines: ServedLine[] = [];
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: proc.stdout }).on('line', (l) => {
        const doc = JSON.parse(l) as ServedLine;
        lines.push(doc);
        if (doc.event === 'serving') resolve();
      });
      void exited.then(() => reject(new Error('sim up exited before serving')));
    });
    return await use(join(dir, 'rig.yaml'), lines);
  } finally {
    proc.kill('SIGINT');
    await exited;
  }
}
