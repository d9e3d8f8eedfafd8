import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CertifyResult, certify } from '../../../engine/certify.js';
import type { ProgressSink } from '../../../engine/executor.js';
import { ENTRY } from '../../../engine/observations.js';
import { readRunRecord } from '../../../engine/record/reader.js';
import { RECORD_FILE } from '../../../engine/record/store.js';
import { rigProvider } from '../../../engine/rig-provider.js';
import { freePort } from '../../support/ledger-node.js';
import { exportedPoints, requireVictoriaMetrics, startVm, stopVm } from '../../support/victoria-metrics.js';

/**
 * `bench certify --tsdb` streams the run to a real VictoriaMetrics. Every measurement and event of the record is
 * in the server afterwards, also when the server was unreachable for part of the run.
 */

/** A TCP pass-through to the server that can be cut (connections reset, as when the server process is gone). */
function cuttableProxy(targetPort: number): Promise<{ port: number; cut(down: boolean): void; close(): void }> {
  let down = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as { port: number }).port,
        cut(d) {
          down = d;
          if (d) for (const s of sockets) s.destroy();
        },
        close() {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}

function countIn(r: CertifyResult, kind: string): number {
  return readRunRecord(join(r.runDir, RECORD_FILE)).entries.filter((e) => e.kind === kind).length;
}

describe('bench certify --tsdb against a real VictoriaMetrics', () => {
  let dir: string;
  let vm: ChildProcess | undefined;
  let vmPort: number;
  beforeAll(async () => {
    const bin = requireVictoriaMetrics();
    dir = mkdtempSync(join(tmpdir(), 'bench-tsdb-'));
    vmPort = await freePort();
    vm = await startVm(bin, join(dir, 'data'), vmPort);
  });
  afterAll(async () => {
    await stopVm(vm);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an outage during two cases loses nothing: points spool and land once the server is back', async () => {
    const proxy = await cuttableProxy(vmPort);
    let started = 0;
    const progress: ProgressSink = {
      caseStarted() {
        started++;
        if (started === 2) proxy.cut(true);
        if (started === 4) proxy.cut(false);
      },
      caseProgress: () => undefined,
      caseFinished: () => undefined,
      stop: () => undefined,
    };
    let r: CertifyResult;
    try {
      r = await certify(
        {
          suite: 'ev-billing',
          rig: 'sim',
          seed: 3,
          tsdb: `http://127.0.0.1:${proxy.port}`,
          runsDir: join(dir, 'runs'),
          reportsDir: join(dir, 'reports'),
          formats: ['json'],
          signal: new AbortController().signal,
          progress,
          argv: [],
        },
        rigProvider,
      );
    } finally {
      proxy.close();
    }
    expect(r.verdict).toBe('PASS');
    expect(r.tsdb).toMatchObject({ unsent: 0, dropped: 0 });
    // The outage was real: points of cases 2 and 3 went through the spool.
    expect(r.tsdb?.spooled).toBeGreaterThan(0);
    expect(existsSync(r.tsdb?.spoolFile ?? '')).toBe(false);

    const measurements = countIn(r, ENTRY.meterMeasurement);
    const events = countIn(r, ENTRY.meterEvent);
    const truth = countIn(r, ENTRY.truthEvent);
    expect(measurements).toBeGreaterThan(1000);
    expect(await exportedPoints(vmPort, 'meter_p')).toHaveLength(measurements);
    expect(await exportedPoints(vmPort, 'meter_importKWh')).toHaveLength(measurements);
    expect(await exportedPoints(vmPort, 'switch_deltaP')).toHaveLength(events);
    expect(await exportedPoints(vmPort, 'truth_switch_deltaP')).toHaveLength(truth);
    expect(r.tsdb?.written).toBe(measurements + events + truth + countIn(r, ENTRY.transportLatency));
  });
});
