import { existsSync, readFileSync } from 'node:fs';
import type {
  MeasurementData,
  MeterEventData,
  TransportLatencyData,
  TruthEventData,
} from '../../core/record/entries.js';
import { ENTRY } from '../../core/record/entries.js';
import { InfluxSink } from './influx.js';

export interface TsdbStats {
  url: string;
  written: number;
  spooled: number;
  dropped: number;
  /** Points still in the spool file when the run ended (the server never came back); kept, not lost. */
  unsent: number;
  /** Most points held in memory at once, and the largest the on-disk spool grew (bounded by the sink). */
  peakPendingLines: number;
  peakSpoolBytes: number;
  /** Last write error while the server was unreachable (points were spooled, not lost). */
  lastError?: string;
}

/**
 * Streams a run's observations to an InfluxDB-protocol time-series server while it runs (the schema of
 * rigs/grafana/bench-dashboard.json): `meter` (p, q, v, i, importKWh, exportKWh), `switch` (detected events),
 * `truth_switch` (scenario events) and `rig_latency`, tagged with run, case and instrument. A point's time is the
 * case's wall-clock start plus its scenario time, so a real-time rig streams live and a simulated run lands as one
 * contiguous timeline per case.
 */
export class TsdbTap {
  private readonly sink: InfluxSink;
  private readonly caseStartMs = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();
  private lastError?: string;

  constructor(
    private readonly url: string,
    private readonly runId: string,
    private readonly spoolFile: string,
    private readonly flushEvery = 5000,
  ) {
    this.sink = new InfluxSink({ url, spoolFile });
  }

  observe(kind: string, data: Record<string, unknown>): void {
    const caseId = String(data.caseId ?? '');
    let start = this.caseStartMs.get(caseId);
    if (start === undefined) {
      start = Date.now();
      this.caseStartMs.set(caseId, start);
    }
    const at = (t: number) => start + Math.round(t * 1000);
    const tags = (instrument: string) => ({ run: this.runId, case: caseId, instrument });
    if (kind === ENTRY.meterMeasurement) {
      const m = data as unknown as MeasurementData;
      this.sink.measurement(
        'meter',
        tags(m.meterId),
        { p: m.p, q: m.q, v: m.vrms, i: m.irms, importKWh: m.importWh / 1000, exportKWh: m.exportWh / 1000 },
        at(m.t),
      );
    } else if (kind === ENTRY.meterEvent) {
      const e = data as unknown as MeterEventData;
      this.sink.event(
        'switch',
        { ...tags(e.meterId), class: e.class, direction: e.direction },
        { deltaP: e.deltaP, deltaQ: e.deltaQ },
        at(e.tMeter ?? e.tObserved),
      );
    } else if (kind === ENTRY.truthEvent) {
      const e = data as unknown as TruthEventData;
      this.sink.event(
        'truth_switch',
        { ...tags(e.meterId), class: e.class, direction: e.direction },
        { deltaP: e.deltaP },
        at(e.t),
      );
    } else if (kind === ENTRY.transportLatency) {
      const l = data as unknown as TransportLatencyData;
      this.sink.measurement('rig_latency', tags(l.instrument), { p50Ms: l.p50Ms, p99Ms: l.p99Ms }, Date.now());
    } else {
      return;
    }
    if (this.sink.pendingLines >= this.flushEvery) this.flush();
  }

  /** Queues a flush behind any running one (batches stay in order). */
  flush(): Promise<unknown> {
    this.chain = this.chain.then(async () => {
      const r = await this.sink.flush();
      if (!r.ok) this.lastError = r.error;
    });
    return this.chain;
  }

  async close(): Promise<TsdbStats> {
    await this.flush();
    await this.sink.close();
    return {
      url: this.url,
      written: this.sink.written,
      spooled: this.sink.spooled,
      dropped: this.sink.dropped,
      peakPendingLines: this.sink.peakPendingLines,
      peakSpoolBytes: this.sink.peakSpoolBytes,
      unsent: existsSync(this.spoolFile) ? readFileSync(this.spoolFile, 'utf8').split('\n').filter(Boolean).length : 0,
      lastError: this.lastError,
    };
  }
}
