import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY } from '../../core/record/entries.js';
import { readRunRecord } from '../../core/record/reader.js';
import { RECORD_FILE } from '../../core/record/store.js';
import { type CertifyResult, certify } from '../../engine/certify.js';
import type { ProgressSink } from '../../engine/executor.js';
import { rigProvider } from '../../engine/rig-provider.js';
import { resolveSuite } from '../../engine/suite.js';
import { freePort } from '../support/ledger-node.js';
import { exportedPoints, requireVictoriaMetrics, startVm, stopVm } from '../support/victoria-metrics.js';

/**
 * `bench certify --tsdb` streams the run to a real VictoriaMetrics. Every measurement and event of the record is
 * in the server afterwards, also when the server was unreachable for part of the run.
 */

/**
 * Blocks this process until `check` (a Node script) exits 0: the executor calls progress hooks synchronously, and
 * the outage must begin and end at case boundaries, not whenever an async stop or start happens to finish.
 */
function blockUntil(check: string): void {
  execFileSync(process.execPath, [
    '-e',
    `(async () => { for (;;) { if (await (async () => { ${check} })()) process.exit(0); await new Promise((r) => setTimeout(r, 20)); } })()`,
  ]);
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

  it('the server stopped for two cases loses nothing: points spool to disk and land once it is back', async () => {
    const bin = requireVictoriaMetrics();
    let started = 0;
    const health = `http://127.0.0.1:${vmPort}/health`;
    const progress: ProgressSink = {
      caseStarted() {
        started++;
        if (started === 2) {
          // SIGTERM, then wait until the process has exited (VictoriaMetrics flushes its data on the way out). It
          // stays a zombie until this blocked process reaps it, so "exited" is state Z in /proc or no entry at all.
          const pid = vm!.pid!;
          vm!.kill('SIGTERM');
          blockUntil(
            `try { return require('node:fs').readFileSync('/proc/${pid}/stat', 'utf8').split(') ')[1][0] === 'Z'; } catch { return true; }`,
          );
        }
        if (started === 4) {
          // the same binary, port and data directory, as when a lab's server is restarted
          vm = spawn(
            bin,
            [
              '-storageDataPath',
              join(dir, 'data'),
              '-httpListenAddr',
              `127.0.0.1:${vmPort}`,
              '-search.latencyOffset=0s',
            ],
            { stdio: 'ignore' },
          );
          blockUntil(`return (await fetch('${health}').catch(() => undefined))?.ok === true;`);
        }
      },
      caseProgress: () => undefined,
      caseFinished: () => undefined,
      stop: () => undefined,
    };
    const r: CertifyResult = await certify(
      {
        suite: 'ev-billing',
        rig: 'sim',
        seed: 3,
        tsdb: `http://127.0.0.1:${vmPort}`,
        runsDir: join(dir, 'runs'),
        reportsDir: join(dir, 'reports'),
        formats: ['json'],
        signal: new AbortController().signal,
        progress,
        argv: [],
      },
      rigProvider,
    );
    expect(started).toBe(resolveSuite('ev-billing').suite.cases.length);
    expect(r.verdict).toBe('PASS');
    expect(r.tsdb).toMatchObject({ unsent: 0, dropped: 0 });
    // The outage was real: points of cases 2 and 3 went through the spool.
    expect(r.tsdb?.spooled).toBeGreaterThan(0);
    expect(existsSync(r.tsdb?.spoolFile ?? '')).toBe(false);
    // Memory stays bounded during the outage: points went to the disk spool, at most one flush batch (5,000
    // lines, plus what arrives while a flush is on its way) was ever held in memory.
    expect(r.tsdb!.peakPendingLines).toBeLessThanOrEqual(2 * 5000);
    expect(r.tsdb!.peakSpoolBytes).toBeGreaterThan(0);
    expect(r.tsdb!.peakSpoolBytes).toBeLessThanOrEqual(64 * 2 ** 20);
    console.log(
      `tsdb outage: ${r.tsdb!.spooled} points spooled (peak spool ${(r.tsdb!.peakSpoolBytes / 2 ** 20).toFixed(1)} MB), peak ${r.tsdb!.peakPendingLines} lines in memory, ${r.tsdb!.written} written`,
    );

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
