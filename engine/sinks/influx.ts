import { appendFileSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { InfluxDB, Point, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import createDebug from 'debug';

const log = createDebug('bench:sinks:influx');
// The client logs write failures to the console; route them to debug (the sink reports failures itself).
setLogger({ error: (m, e) => log('%s %O', m, e), warn: (m, e) => log('%s %O', m, e) });

export interface InfluxSinkOptions {
  url: string;
  org?: string;
  bucket?: string;
  token?: string;
  /** File of line-protocol lines not yet accepted by the server (survives an outage and a restart). */
  spoolFile: string;
  /** Bound of the spool file; lines beyond it are counted in `dropped`, never silently lost. */
  maxSpoolBytes?: number;
  batchSize?: number;
  timeoutMs?: number;
}

/**
 * Streams measurements and events as InfluxDB line protocol with @influxdata/influxdb-client. Writes are batched;
 * a failed batch goes to a bounded on-disk spool that is replayed, in order, before the next batch.
 */
export class InfluxSink {
  private readonly writeApi: WriteApi;
  private pending: string[] = [];
  private readonly batchSize: number;
  private readonly maxSpoolBytes: number;
  written = 0;
  spooled = 0;
  dropped = 0;
  /** High-water marks, so a run can show that an outage moved points to disk instead of holding them in memory. */
  peakPendingLines = 0;
  peakSpoolBytes = 0;

  constructor(private readonly opts: InfluxSinkOptions) {
    this.batchSize = opts.batchSize ?? 5000;
    this.maxSpoolBytes = opts.maxSpoolBytes ?? 64 * 1024 * 1024;
    this.writeApi = new InfluxDB({
      url: opts.url,
      token: opts.token ?? '',
      timeout: opts.timeoutMs ?? 5000,
    }).getWriteApi(
      opts.org ?? 'bench',
      opts.bucket ?? 'bench',
      'ms',
      // The client's own retry buffer is memory-only; this sink retries from its disk spool instead.
      { batchSize: this.batchSize + 1, flushInterval: 0, maxRetries: 0, maxBufferLines: this.batchSize * 2 },
    );
  }

  /** One measurement sample: fields are numbers, tags identify the instrument and case. */
  measurement(name: string, tags: Record<string, string>, fields: Record<string, number>, timeMs: number): void {
    const p = new Point(name).timestamp(timeMs);
    for (const [k, v] of Object.entries(tags)) p.tag(k, v);
    for (const [k, v] of Object.entries(fields)) if (Number.isFinite(v)) p.floatField(k, v);
    const line = p.toLineProtocol();
    if (line && this.pending.push(line) > this.peakPendingLines) this.peakPendingLines = this.pending.length;
  }

  /** An event (e.g. a detected switch): stored as numeric fields so TSDBs that drop strings keep it. */
  event(name: string, tags: Record<string, string>, fields: Record<string, number>, timeMs: number): void {
    this.measurement(name, tags, { ...fields, count: 1 }, timeMs);
  }

  get pendingLines(): number {
    return this.pending.length;
  }

  private spool(lines: string[]): void {
    const text = `${lines.join('\n')}\n`;
    const size = existsSync(this.opts.spoolFile) ? statSync(this.opts.spoolFile).size : 0;
    if (size + text.length > this.maxSpoolBytes) {
      this.dropped += lines.length;
      log('spool full: %d lines dropped', lines.length);
      return;
    }
    appendFileSync(this.opts.spoolFile, text);
    this.spooled += lines.length;
    this.peakSpoolBytes = Math.max(this.peakSpoolBytes, size + text.length);
  }

  private async send(lines: string[]): Promise<void> {
    for (let i = 0; i < lines.length; i += this.batchSize) {
      this.writeApi.writeRecords(lines.slice(i, i + this.batchSize));
      await this.writeApi.flush();
    }
  }

  /** Sends the spool (oldest first) and the pending lines; on failure everything unsent goes to the spool. */
  async flush(): Promise<{ ok: boolean; error?: string }> {
    const lines = this.pending;
    this.pending = [];
    if (existsSync(this.opts.spoolFile)) {
      const spooled = readFileSync(this.opts.spoolFile, 'utf8').split('\n').filter(Boolean);
      try {
        await this.send(spooled);
        rmSync(this.opts.spoolFile);
        this.written += spooled.length;
      } catch (e) {
        if (lines.length) this.spool(lines);
        return { ok: false, error: (e as Error).message };
      }
    }
    if (!lines.length) return { ok: true };
    try {
      await this.send(lines);
      this.written += lines.length;
      return { ok: true };
    } catch (e) {
      log('write failed, spooling %d lines: %s', lines.length, (e as Error).message);
      this.spool(lines);
      return { ok: false, error: (e as Error).message };
    }
  }

  async close(): Promise<void> {
    await this.flush();
    await this.writeApi.close().catch(() => undefined);
  }
}
