import { readFileSync } from 'node:fs';
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

export function verifyRunRecordText(text: string, file = '<memory>'): RunRecordRead {
  const lines = text.split('\n');
  const endsWithNewline = lines[lines.length - 1] === '';
  if (endsWithNewline) lines.pop();
  const entries: RecordEntry[] = [];
  let prev = GENESIS_HASH;
  const result = (integrity: Integrity, problem?: IntegrityProblem): RunRecordRead => {
    const header = entries[0]?.kind === 'header' ? (entries[0].data as RunHeader) : undefined;
    const endEntry = entries.at(-1)?.kind === 'end' ? (entries.at(-1)!.data as RunEnd) : undefined;
    return { file, integrity, problem, header, entries, end: endEntry, lastHash: prev };
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const isLast = i === lines.length - 1;
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
  }
  if (entries.length === 0) return result('INCOMPLETE', { line: 1, reason: 'record is empty' });
  if (!endsWithNewline) return result('INCOMPLETE', { line: lines.length, reason: 'last line has no newline' });
  const last = entries.at(-1)!;
  if (last.kind !== 'end') return result('INCOMPLETE', { line: entries.length, reason: 'the run has no end entry' });
  const status = (last.data as RunEnd).status;
  if (status !== 'COMPLETE') return result('INCOMPLETE', { line: entries.length, reason: `the run ended ${status}` });
  return result('OK');
}
