import { readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { runSteps, runStepsYielding, type Steps } from '../steps.js';
import { checkLine, checkSealedLine, GENESIS_HASH, looksTruncated } from './chain.js';
import type { Integrity, RecordEntry, RunEnd, RunHeader } from './types.js';

export interface IntegrityProblem {
  /** 1-based line number of the first entry that fails. */
  line: number;
  reason: string;
}

export interface RunRecordRead {
  file: string;
  integrity: Integrity;
  /** Why the record is INCOMPLETE or TAMPERED. */
  problem?: IntegrityProblem;
  header?: RunHeader;
  entries: RecordEntry[];
  end?: RunEnd;
  /** Hash of the last valid entry: the fingerprint reports and the ledger anchor cite. */
  lastHash: string;
  /** Entries that hold, from the first: all of them in a whole record. */
  entryCount: number;
}

/**
 * Reads and verifies a record. OK: the chain holds and the run ended COMPLETE. INCOMPLETE: the chain holds but
 * the run did not finish (no end entry, an end that is not COMPLETE, or a last line cut short by a crash).
 * TAMPERED: some entry's bytes do not match its hash or its link; `problem.line` names the first one.
 */
export function readRunRecord(file: string): RunRecordRead {
  return verifyRunRecordText(readFileSync(file, 'utf8'), file);
}

/**
 * readRunRecord that reads the file asynchronously and turns the event loop while it verifies: a long run's record
 * (tens of MB) takes seconds to check, which certify's process and a test runner cannot spend blocked.
 */
export async function readRunRecordAsync(file: string): Promise<RunRecordRead> {
  return runStepsYielding(verifySteps(await readFile(file, 'utf8'), file));
}

export function verifyRunRecordText(text: string, file = '<memory>'): RunRecordRead {
  return runSteps(verifySteps(text, file));
}

/** Lines verified between two points where a caller may yield (hash and parse of each line). */
const LINES_PER_STEP = 256;

/** Bytes read from disk at a time by scanRunRecord. */
const SCAN_BUFFER_BYTES = 256 * 1024;

/** A record's verification without its entries: what a streaming reader returns after handing each one on. */
export type RunRecordScan = Omit<RunRecordRead, 'entries'>;

/**
 * The hash chain checked one line at a time, in record order, so a record can be verified as it streams from disk
 * (a week-long run's record is hundreds of MB) or from a string. A line after the first problem is not looked at.
 */
class ChainVerifier {
  private prev = GENESIS_HASH;
  private count = 0;
  private header: RunHeader | undefined;
  private lastEntry: RecordEntry | undefined;
  private stopped: { integrity: Integrity; problem: IntegrityProblem } | undefined;

  constructor(private readonly file: string) {}

  get done(): boolean {
    return this.stopped !== undefined;
  }

  /**
   * Checks the next line; the entry when it holds. `unterminated`: the file's last line, with no newline after it.
   * `skip`: kinds the caller does not need; such a line is checked without being parsed (see checkSealedLine) and
   * gives no entry.
   */
  line(line: string, unterminated: boolean, skip?: (kind: string) => boolean): RecordEntry | undefined {
    if (this.stopped) return undefined;
    const i = this.count;
    const stop = (integrity: Integrity, reason: string) => {
      this.stopped = { integrity, problem: { line: i + 1, reason } };
      return undefined;
    };
    if (unterminated && looksTruncated(line))
      return stop('INCOMPLETE', 'last line is cut short (the writer stopped mid-entry)');
    if (skip && !unterminated && i > 0 && this.lastEntry?.kind !== 'end') {
      const sealed = checkSealedLine(line, this.prev, i);
      if (sealed && sealed.kind !== 'end' && skip(sealed.kind)) {
        this.lastEntry = { kind: sealed.kind } as RecordEntry;
        this.prev = sealed.hash;
        this.count++;
        return undefined;
      }
    }
    const check = checkLine(line, this.prev);
    if (!check.ok) return stop('TAMPERED', check.detail);
    const entry = check.body as unknown as RecordEntry;
    if (entry.seq !== i) return stop('TAMPERED', `sequence ${entry.seq}, expected ${i}`);
    if (i === 0 && entry.kind !== 'header') return stop('TAMPERED', 'first entry is not a header');
    if (this.lastEntry?.kind === 'end') return stop('TAMPERED', 'entry after the end entry');
    if (i === 0) this.header = entry.data as RunHeader;
    this.lastEntry = entry;
    this.prev = check.hash;
    this.count++;
    return entry;
  }

  finish(endsWithNewline: boolean): RunRecordScan {
    const end = this.lastEntry?.kind === 'end' ? (this.lastEntry.data as RunEnd) : undefined;
    const result = (integrity: Integrity, problem?: IntegrityProblem): RunRecordScan => ({
      file: this.file,
      integrity,
      problem,
      header: this.header,
      end,
      lastHash: this.prev,
      entryCount: this.count,
    });
    if (this.stopped) return result(this.stopped.integrity, this.stopped.problem);
    if (this.count === 0) return result('INCOMPLETE', { line: 1, reason: 'record is empty' });
    if (!endsWithNewline) return result('INCOMPLETE', { line: this.count, reason: 'last line has no newline' });
    if (!end) return result('INCOMPLETE', { line: this.count, reason: 'the run has no end entry' });
    if (end.status !== 'COMPLETE')
      return result('INCOMPLETE', { line: this.count, reason: `the run ended ${end.status}` });
    return result('OK');
  }
}

function* verifySteps(text: string, file: string): Steps<RunRecordRead> {
  // Lines are cut one at a time rather than by one split of the whole text: splitting a long run's record (tens of
  // MB) is itself seconds of blocking on a loaded machine. Same lines as text.split('\n') without a final ''.
  const endsWithNewline = text === '' || text.endsWith('\n');
  const contentEnd = text === '' ? -1 : endsWithNewline ? text.length - 1 : text.length;
  const verifier = new ChainVerifier(file);
  const entries: RecordEntry[] = [];
  let i = 0;
  for (let pos = 0; pos <= contentEnd && !verifier.done; i++) {
    if (i % LINES_PER_STEP === LINES_PER_STEP - 1) yield;
    const nl = text.indexOf('\n', pos);
    const last = nl < 0 || nl >= contentEnd;
    const entry = verifier.line(text.slice(pos, last ? contentEnd : nl), last && !endsWithNewline);
    if (entry) entries.push(entry);
    if (last) break;
    pos = nl + 1;
  }
  return { ...verifier.finish(endsWithNewline), entries };
}

/**
 * Verifies a record as it streams from disk, handing each verified entry to `visit` in order and keeping none: the
 * memory it takes is one read chunk and what the visitor keeps. A visitor that returns steps (a case's analysis)
 * has them run with turns of the event loop. `skip` (asked line by line, so it may change as the visitor learns the
 * record): kinds whose lines are only checked, not parsed nor visited; certify, which analysed its cases as they ran,
 * skips their measurements, most of a record's bytes.
 */
export async function scanRunRecord(
  file: string,
  visit: (entry: RecordEntry) => Steps<void> | undefined,
  opts: { skip?: (kind: string) => boolean } = {},
): Promise<RunRecordScan> {
  const { skip } = opts;
  const verifier = new ChainVerifier(file);
  const handle = await open(file, 'r');
  try {
    // One buffer, refilled: the unfinished line moves to its front and the next read fills the rest (it doubles for
    // a line longer than itself). Lines are cut on the newline byte and decoded one by one: a UTF-8 character never
    // contains byte 0x0A, and readline would also end lines at a carriage return, hiding a changed byte from the
    // hash check.
    let buf = Buffer.allocUnsafe(SCAN_BUFFER_BYTES);
    let filled = 0;
    let sawAny = false;
    for (;;) {
      if (filled === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, null);
      if (bytesRead === 0) break;
      sawAny = true;
      const end = filled + bytesRead;
      const view = buf.subarray(0, end);
      let pos = 0;
      for (let nl = view.indexOf(10, pos); nl >= 0 && !verifier.done; nl = view.indexOf(10, pos)) {
        const entry = verifier.line(view.toString('utf8', pos, nl), false, skip);
        pos = nl + 1;
        const steps = entry && visit(entry);
        if (steps) await runStepsYielding(steps);
      }
      if (verifier.done) return verifier.finish(true);
      buf.copy(buf, 0, pos, end);
      filled = end - pos;
    }
    const endsWithNewline = !sawAny || filled === 0;
    if (!endsWithNewline) {
      const entry = verifier.line(buf.toString('utf8', 0, filled), true);
      const steps = entry && visit(entry);
      if (steps) await runStepsYielding(steps);
    }
    return verifier.finish(endsWithNewline);
  } finally {
    await handle.close();
  }
}
