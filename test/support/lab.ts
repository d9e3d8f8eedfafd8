import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { LabStatus } from '../../farm/status.js';
import { bench, benchAsync } from './cli.js';

export interface TestLab {
  dir: string;
  url: string;
  /** What every lab command and agent needs in its environment (the URL, and the pgpass file for the password). */
  env: Record<string, string>;
  /** `bench lab <args>` against this lab, async (agents run beside it). */
  lab(args: string[]): ReturnType<typeof benchAsync>;
  /** `bench lab status --json`, which must succeed. */
  status(): Promise<LabStatus>;
  down(): void;
}

/**
 * A real PostgreSQL lab through the built CLI: `bench lab up` in a fresh directory (Debian's server, started here),
 * then `bench lab init`. Without PostgreSQL's server installed this fails, as the test must.
 */
export async function startLab(): Promise<TestLab> {
  const root = mkdtempSync(join(tmpdir(), 'bench-lab-'));
  // The cluster belongs to the postgres user when the tests run as root: it must be able to enter its directory.
  chmodSync(root, 0o755);
  const dir = join(root, 'lab');
  const up = await benchAsync(['lab', 'up', '--dir', dir, '--json']);
  expect(up.code, up.stderr).toBe(0);
  const { url, passFile } = up.json<{ url: string; passFile: string }>();
  const env = { PGPASSFILE: passFile, BENCH_LAB_DB: url };
  const lab = (args: string[]) => benchAsync(['lab', ...args], { env });
  const status = async () => {
    const r = await lab(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return r.json<LabStatus>();
  };
  const init = await lab(['init', '--json']);
  expect(init.code, init.stderr).toBe(0);
  return {
    dir,
    url,
    env,
    lab,
    status,
    down: () => {
      bench(['lab', 'down', '--dir', dir]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
