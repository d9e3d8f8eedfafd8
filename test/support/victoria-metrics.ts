/** A real VictoriaMetrics server (Debian package `victoria-metrics`) for tests of the time-series stream. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export function requireVictoriaMetrics(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v victoria-metrics'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'victoria-metrics is not installed (apt-get install victoria-metrics); the influx sink test needs it',
    );
  }
}

export async function startVm(bin: string, dir: string, port: number): Promise<ChildProcess> {
  const proc = spawn(
    bin,
    ['-storageDataPath', dir, '-httpListenAddr', `127.0.0.1:${port}`, '-search.latencyOffset=0s'],
    { stdio: 'ignore' },
  );
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`victoria-metrics exited with ${proc.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return proc;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function stopVm(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((r) => {
    proc.once('exit', () => r());
    proc.kill('SIGTERM');
  });
}

/** Every stored value of a metric, sorted; the window reaches 2 days ahead (simulated runs stream ahead of now). */
export async function exportedPoints(port: number, metric: string): Promise<number[]> {
  await fetch(`http://127.0.0.1:${port}/internal/force_flush`);
  const end = Math.floor(Date.now() / 1000) + 2 * 86_400;
  const r = await fetch(
    `http://127.0.0.1:${port}/api/v1/export?match[]=${encodeURIComponent(metric)}&start=0&end=${end}`,
  );
  const values: number[] = [];
  for (const line of (await r.text()).split('\n').filter(Boolean)) {
    values.push(...(JSON.parse(line) as { values: number[] }).values);
  }
  return values.sort((a, b) => a - b);
}
