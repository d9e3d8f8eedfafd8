import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunRecord, verifyRunRecordText } from '../../../core/record/reader.js';
import { createRun, listRunIds } from '../../../core/record/store.js';
import { RunRecordWriter } from '../../../core/record/writer.js';
import { testHeader } from '../../support/header.js';

const header = testHeader(7);

function writeSample(dir: string, close = true) {
  const { writer, runId } = createRun(dir, header);
  writer.append('case.start', { caseId: 'a' });
  writer.appendBatch([
    { kind: 'obs.meter.event', data: { caseId: 'a', t: 1.5, class: 'kettle ☕' } },
    { kind: 'obs.meter.event', data: { caseId: 'a', t: 2.5, class: 'ev' } },
  ]);
  writer.append('case.verdict', { caseId: 'a', verdict: 'PASS' });
  if (close) writer.close({ status: 'COMPLETE', verdict: 'PASS' });
  return { file: writer.file, runId };
}

describe('run record', () => {
  it('reads back OK with the header, entries and end', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    const { file, runId } = writeSample(dir);
    const r = readRunRecord(file);
    expect(r.integrity).toBe('OK');
    expect(r.header?.runId).toBe(runId);
    expect(r.entries.map((e) => e.kind)).toEqual([
      'header',
      'case.start',
      'obs.meter.event',
      'obs.meter.event',
      'case.verdict',
      'end',
    ]);
    expect(r.end).toMatchObject({ status: 'COMPLETE', verdict: 'PASS' });
    expect(r.lastHash).toMatch(/^[0-9a-f]{64}$/);
    expect(listRunIds(dir)).toEqual([runId]);
  });

  it('is frozen once closed and never overwrites an existing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    const { file } = writeSample(dir);
    expect(() => RunRecordWriter.create(file, { ...header, runId: 'x', startedAt: '' })).toThrow(/EEXIST/);
    const before = readFileSync(file, 'utf8');
    expect(readRunRecord(file).integrity).toBe('OK');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('reads a record cut mid-line as INCOMPLETE, at every cut point of the last line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    const { file } = writeSample(dir);
    const text = readFileSync(file, 'utf8');
    const lastStart = text.lastIndexOf('\n', text.length - 2) + 1;
    for (let cut = lastStart + 1; cut < text.length - 1; cut++) {
      const r = verifyRunRecordText(text.slice(0, cut));
      expect(r.integrity, `cut at ${cut}`).toBe('INCOMPLETE');
      expect(r.entries.length).toBe(5);
    }
  });

  it('reads a run without an end entry (crash) or ended ABORTED as INCOMPLETE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    const { file } = writeSample(dir, false);
    expect(readRunRecord(file)).toMatchObject({ integrity: 'INCOMPLETE', problem: { reason: /no end entry/ } });
    const { writer } = createRun(dir, header);
    writer.close({ status: 'ABORTED', verdict: 'ERROR' });
    expect(readRunRecord(writer.file).integrity).toBe('INCOMPLETE');
  });

  it('detects one flipped byte anywhere as TAMPERED and names the first bad line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    const { file } = writeSample(dir);
    const bytes = readFileSync(file);
    const lineOf = (pos: number) => bytes.subarray(0, pos).toString('latin1').split('\n').length;
    for (let pos = 0; pos < bytes.length; pos++) {
      const copy = Buffer.from(bytes);
      copy[pos] = copy[pos]! ^ 0x01;
      const r = verifyRunRecordText(copy.toString('utf8'));
      expect(r.integrity, `byte ${pos}`).toBe('TAMPERED');
      expect(r.problem!.line, `byte ${pos}`).toBeLessThanOrEqual(lineOf(pos) + 1);
    }
  });

  it('detects a removed middle line as TAMPERED', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    const { file } = writeSample(dir);
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.splice(2, 1);
    writeFileSync(file, lines.join('\n'));
    expect(readRunRecord(file)).toMatchObject({ integrity: 'TAMPERED', problem: { line: 3 } });
  });
});
