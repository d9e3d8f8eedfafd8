/**
 * A Ganache JSON-RPC node in its own process, started the way a lab starts it (`bench ledger up`, the built CLI),
 * for tests that stop, kill and restart the node under a client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';

const BIN = join(REPO_ROOT, 'bin/run.js');

/** A TCP port nobody listens on right now (the one emulated benches take theirs from). */
export { freePort } from '../../rigs/sim-up.js';

export interface LedgerNodeOptions {
  port: number;
  /** State directory (`--db`): the chain survives a restart on the same directory. */
  dbPath: string;
  env?: Record<string, string>;
  /** Receives everything the process prints (e.g. to scan it for secrets). */
  output?: (text: string) => void;
}

/** Starts `bench ledger up` and resolves once it prints its URL. */
export async function startLedgerNode(o: LedgerNodeOptions): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'ledger', 'up', '--port', String(o.port), '--db', o.dbPath], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...o.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening on')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`bench ledger up exited ${code} before listening:\n${out}`)));
  });
  child.stdout!.on('data', (d: Buffer) => o.output?.(d.toString()));
  o.output?.(out);
  return child;
}

/** Stops the node (SIGTERM: `bench ledger up` closes Ganache cleanly; SIGKILL: no chance to) and waits for it. */
export async function stopLedgerNode(
  child: ChildProcess | undefined,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
