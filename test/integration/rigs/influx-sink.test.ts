import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxSink } from '../../../engine/sinks/influx.js';
import { freePort } from '../../support/ledger-node.js';
import { exportedPoints, requireVictoriaMetrics, startVm, stopVm } from '../../support/victoria-metrics.js';

describe('InfluxDB sink against a real VictoriaMetrics', () => {
  let bin: string;
  let dir: string;
  let vm: ChildProcess | undefined;
  beforeAll(() => {
    bin = requireVictoriaMetrics();
    dir = mkdtempSync(join(tmpdir(), 'bench-vm-'));
  });
  afterAll(async () => {
    await stopVm(vm);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an outage loses nothing: points spool to disk and arrive complete once the server is up', async () => {
    const port = await freePort();
    const sink = new InfluxSink({ url: `http://127.0.0.1:${port}`, spoolFile: join(dir, 'spool.lp'), timeoutMs: 1000 });
    // Recent timestamps: VictoriaMetrics drops samples older than its retention (1 month by default).
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    for (let i = 0; i < 500; i++)
      sink.measurement('meter', { instrument: 'dut', case: 'c1' }, { p: i, q: 0.5 }, t0 + i * 1000);
    const down = await sink.flush();
    expect(down.ok).toBe(false);
    expect(sink.spooled).toBe(500);

    vm = await startVm(bin, join(dir, 'data'), port);
    for (let i = 500; i < 1000; i++)
      sink.measurement('meter', { instrument: 'dut', case: 'c1' }, { p: i, q: 0.5 }, t0 + i * 1000);
    sink.event('switch', { instrument: 'dut', direction: 'on' }, { deltaP: 2000 }, t0 + 5000);
    expect((await sink.flush()).ok).toBe(true);
    await sink.close();
    expect(sink.dropped).toBe(0);

    const p = await exportedPoints(port, 'meter_p');
    expect(p).toHaveLength(1000);
    expect(p[0]).toBe(0);
    expect(p[999]).toBe(999);
    expect(await exportedPoints(port, 'switch_deltaP')).toEqual([2000]);
  });
});
