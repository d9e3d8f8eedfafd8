import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { GENESIS_HASH, sealLine } from './chain.js';
import type { RecordEntry, RunEnd, RunHeader } from './types.js';

export interface AppendOptions {
  /** fsync after this entry (default). Bulk observations pass false and rely on the next synced entry. */
  sync?: boolean;
}

/**
 * Append-only writer. The file is created exclusively ('wx'), so an existing record is never overwritten;
 * every entry is sealed into the hash chain and, by default, fsynced before `append` returns.
 */
export class RunRecordWriter {
  private fd: number | undefined;
  private seq = 0;
  private last = GENESIS_HASH;

  private constructor(
    readonly file: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  static create(file: string, header: RunHeader): RunRecordWriter {
    const writer = new RunRecordWriter(file, openSync(file, 'wx'));
    writer.append('header', header);
    return writer;
  }

  get lastHash(): string {
    return this.last;
  }

  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  append<T>(kind: string, data: T, options: AppendOptions = {}): string {
    this.writeLines([{ kind, data }]);
    if (options.sync !== false) this.sync();
    return this.last;
  }

  /** Appends many entries with one write and one fsync: for high-rate observations. */
  appendBatch(entries: ReadonlyArray<{ kind: string; data: unknown }>): string {
    if (entries.length === 0) return this.last;
    this.writeLines(entries);
    this.sync();
    return this.last;
  }

  /** Seals the run with its end entry and freezes the record; later appends throw. */
  close(end: Omit<RunEnd, 'endedAt'> & { endedAt?: string }): string {
    this.append('end', { endedAt: new Date().toISOString(), ...end } satisfies RunEnd);
    closeSync(this.requireFd());
    this.fd = undefined;
    return this.last;
  }

  private writeLines(entries: ReadonlyArray<{ kind: string; data: unknown }>): void {
    const fd = this.requireFd();
    let chunk = '';
    for (const { kind, data } of entries) {
      const body: RecordEntry = { seq: this.seq, t: Date.now(), kind, data, prev: this.last };
      const { line, hash } = sealLine(body as unknown as Record<string, unknown>);
      chunk += `${line}\n`;
      this.last = hash;
      this.seq++;
    }
    writeSync(fd, chunk);
  }

  private sync(): void {
    fsyncSync(this.requireFd());
  }

  private requireFd(): number {
    if (this.fd === undefined)
      throw new Error(`run record ${this.file} is closed (frozen); nothing more can be appended`);
    return this.fd;
  }
}
