import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { RigError } from '../../core/errors.js';

export interface PtyPair {
  /** Device paths of the two ends (e.g. /dev/pts/5, /dev/pts/6). */
  a: string;
  b: string;
  process: ChildProcess;
  close(): Promise<void>;
}

/** Fails with a clear message when socat is not installed. */
export function requireSocat(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v socat'], { encoding: 'utf8' }).trim();
  } catch {
    throw new RigError('socat is not installed (apt-get install socat); PTY pairs need it', {
      device: 'socat',
      code: 'MISSING_TOOL',
    });
  }
}

/**
 * Spawns `socat -d -d pty,raw,echo=0[,link=A] pty,raw,echo=0[,link=B]` and parses the two device paths from its
 * "N PTY is /dev/pts/X" notices.
 */
export function openPtyPair(links: { a?: string; b?: string } = {}): Promise<PtyPair> {
  const socat = requireSocat();
  const end = (link?: string) => `pty,raw,echo=0${link ? `,link=${link}` : ''}`;
  const proc = spawn(socat, ['-d', '-d', end(links.a), end(links.b)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    const paths: string[] = [];
    let err = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (s: string) => {
      err += s;
      for (const m of s.matchAll(/PTY is (\S+)/g)) paths.push(m[1] as string);
      if (paths.length === 2 && /starting data transfer loop/.test(err)) {
        proc.stderr?.removeAllListeners('data');
        proc.stderr?.resume();
        resolve({
          a: links.a ?? (paths[0] as string),
          b: links.b ?? (paths[1] as string),
          process: proc,
          close: () =>
            new Promise<void>((r) => {
              if (proc.exitCode !== null || proc.signalCode !== null) return r();
              proc.once('exit', () => r());
              proc.kill('SIGTERM');
            }),
        });
      }
    });
    proc.once('exit', (code) =>
      reject(new RigError(`socat exited (${code}): ${err.trim()}`, { device: 'socat', code: 'PTY' })),
    );
    proc.once('error', (e) => reject(new RigError(`socat: ${e.message}`, { device: 'socat', cause: e })));
  });
}
