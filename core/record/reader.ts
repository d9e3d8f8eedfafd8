import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { runSteps, runStepsYielding, type Steps } from '../steps.js';
import { checkLine, GENESIS_HASH, looksTruncated } from './chain.js';
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

function* verifySteps(text: string, file: string): Steps<RunRecordRead> {
  // Lines are cut one at a time rather than by one split of the whole text: splitting a long run's record (tens of
  // MB) is itself seconds of blocking on a loaded machine. Same lines as text.split('\n') without a final ''.
  const endsWithNewline = text === '' || text.endsWith('\n');
  const contentEnd = text === '' ? -1 : endsWithNewline ? text.length - 1 : text.length;
  const lines = {
    *[Symbol.iterator]() {
      for (let pos = 0; pos <= contentEnd; ) {
        const nl = text.indexOf('\n', pos);
        const last = nl < 0 || nl >= contentEnd;
        yield { line: text.slice(pos, last ? contentEnd : nl), last };
        if (last) return;
        pos = nl + 1;
      }
    },
  };
  const entries: RecordEntry[] = [];
  let prev = GENESIS_HASH;
  const result = (integrity: Integrity, problem?: IntegrityProblem): RunRecordRead => {
    const header = entries[0]?.kind === 'header' ? (entries[0].data as RunHeader) : undefined;
    const endEntry = entries.at(-1)?.kind === 'end' ? (entries.at(-1)!.data as RunEnd) : undefined;
    return { file, integrity, problem, header, entries, end: endEntry, lastHash: prev };
  };

  let i = 0;
  for (const { line, last: isLast } of lines) {
    if (i % LINES_PER_STEP === LINES_PER_STEP - 1) yield;
    if (isLast && !endsWithNewline && looksTruncated(line)) {
      return result('INCOMPLETE', { line: i + 1, reason: 'last line is cut short (the writer stopped mid-entry)' });
    }
    const check = checkLine(line, prev);
    if (!check.ok) return result('TAMPERED', { line: i + 1, reason: check.detail });
    const entry = check.body as unknown as RecordEntry;
    if (entry.seq !== i) return result('TAMPERED', { line: i + 1, reason: `sequence ${entry.seq}, expected ${i}` });
    if (i === 0 && entry.kind !== 'header')
      return result('TAMPERED', { line: 1, reason: 'first entry is not a header' });
    if (entries.at(-1)?.kind === 'end') return result('TAMPERED', { line: i + 1, reason: 'entry after the end entry' });
    entries.push(entry);
    prev = check.hash;
    i++;
  }
  const lineCount = i;
  if (entries.length === 0) return result('INCOMPLETE', { line: 1, reason: 'record is empty' });
  if (!endsWithNewline) return result('INCOMPLETE', { line: lineCount, reason: 'last line has no newline' });
  const last = entries.at(-1)!;
  if (last.kind !== 'end') return result('INCOMPLETE', { line: entries.length, reason: 'the run has no end entry' });
  const status = (last.data as RunEnd).status;
  if (status !== 'COMPLETE') return result('INCOMPLETE', { line: entries.length, reason: `the run ended ${status}` });
  return result('OK');
}
