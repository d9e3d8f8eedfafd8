import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { GENESIS_HASH, sealLine } from './chain.js';
import type { RecordEntry, RunEnd, RunHeader } from './types.js';

/** The staging buffer's first size: a batch of 512 measurements is about 256 KB. */
const STAGE_BYTES = 512 * 1024;

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
  /**
   * Lines sealed by stage() and not yet written, as bytes outside the JS heap: kept as strings until the batch's
   * write, they outlived the young generation and were promoted, and a day's record (46 MB) passed through the old
   * generation as garbage, the bulk of the process's peak memory.
   */
  private staged = Buffer.allocUnsafe(STAGE_BYTES);
  private stagedBytes = 0;
  private stagedCount = 0;

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
    this.stage(kind, data);
    this.writeStaged();
    if (options.sync !== false) this.sync();
    return this.last;
  }

  /** Appends many entries with one write and one fsync: for high-rate observations. */
  appendBatch(entries: ReadonlyArray<{ kind: string; data: unknown }>): string {
    for (const { kind, data } of entries) this.stage(kind, data);
    return this.flush();
  }

  /**
   * Seals an entry into the chain now and keeps its line for the next flush: a high-rate observation is
   * serialised as it arrives, so only its line waits for the batch's write, not the object it came from.
   */
  stage(kind: string, data: unknown): string {
    this.requireFd();
    const body: RecordEntry = { seq: this.seq, t: Date.now(), kind, data, prev: this.last };
    const { line, hash } = sealLine(body as unknown as Record<string, unknown>);
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit.
    const need = this.stagedBytes + line.length * 3 + 1;
    if (need > this.staged.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.staged.length * 2));
      this.staged.copy(bigger, 0, 0, this.stagedBytes);
      this.staged = bigger;
    }
    this.stagedBytes += this.staged.write(line, this.stagedBytes, 'utf8');
    this.staged[this.stagedBytes++] = 0x0a;
    this.stagedCount++;
    this.last = hash;
    this.seq++;
    return hash;
  }

  /** Entries staged and not yet flushed. */
  get pending(): number {
    return this.stagedCount;
  }

  /** Writes the staged lines with one write and one fsync; each of them is durable when this returns. */
  flush(): string {
    if (this.stagedCount === 0) return this.last;
    this.writeStaged();
    this.sync();
    return this.last;
  }

  /** Seals the run with its end entry and freezes the record; later appends throw. */
  close(end: Omit<RunEnd, 'endedAt'> & { endedAt?: string }): string {
    // Anything staged goes first: the end entry follows it in the chain.
    this.append('end', { endedAt: new Date().toISOString(), ...end } satisfies RunEnd);
    closeSync(this.requireFd());
    this.fd = undefined;
    return this.last;
  }

  private writeStaged(): void {
    const fd = this.requireFd();
    for (let at = 0; at < this.stagedBytes; ) at += writeSync(fd, this.staged, at, this.stagedBytes - at);
    this.stagedBytes = 0;
    this.stagedCount = 0;
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
