import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '../..');
const BIN = join(REPO_ROOT, 'bin/run.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = Record<string, unknown>>(): T;
}

/** Runs the built CLI (dist/, from `npm run build`) as a user would. */
export function bench(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    json: <T>() => JSON.parse(r.stdout) as T,
  };
}

/**
 * The built CLI as a child process without blocking the test's event loop: for tests whose instruments (emulators
 * on PTYs) live in the test process and must answer while the command runs.
 */
export function benchAsync(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return benchChild(args, opts).result;
}

/**
 * The built CLI on a real pseudo-terminal through util-linux `script` (stdout and stderr are TTYs, so progress
 * bars draw), as an async child like benchAsync. `screen` is everything the terminal showed.
 */
export function benchOnTty(args: string[], opts: { cwd?: string } = {}): Promise<{ code: number; screen: string }> {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], {
    cwd: opts.cwd ?? REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    screen += s;
  });
  return new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`util-linux script is needed for TTY tests: ${e.message}`)));
    child.once('close', (code) => resolve({ code: code ?? -1, screen }));
  });
}

/** The built CLI as a long-running child (an agent) the test can signal; `result` settles when it exits. */
export function benchChild(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): { child: ReturnType<typeof spawn>; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({ code: code ?? -1, stdout, stderr, json: <T>() => JSON.parse(stdout) as T }),
    );
  });
  return { child, result };
}
