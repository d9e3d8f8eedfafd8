import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A kernel PTY pair from socat (DESIGN §5). Fails, never skips, when socat is missing. */
export async function ptyPair(): Promise<{ a: string; b: string; close(): void }> {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'socat is not installed: the serial tests need real PTYs (scripts/setup-system.sh installs it as root)',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const child: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: 'ignore',
  });
  while (!(existsSync(a) && existsSync(b))) {
    if (child.exitCode !== null) throw new Error(`socat exited with ${child.exitCode}`);
    await sleep(20);
  }
  return { a, b, close: () => child.kill() };
}
