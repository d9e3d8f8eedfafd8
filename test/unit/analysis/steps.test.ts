import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../analysis/case-analysis.js';
import { analyseCase, analyseCaseAsync } from '../../../analysis/registry.js';
import { readRunRecord, readRunRecordAsync, scanRunRecord } from '../../../core/record/reader.js';
import type { RecordEntry } from '../../../core/record/types.js';
import { runSteps, runStepsYielding, type Steps, TURN_MS } from '../../../core/steps.js';
import { buildReportModel, ReportModelBuilder } from '../../../reports/model.js';

const SAMPLE = join(import.meta.dirname, '../../fixtures/records/sample.jsonl');

/** A step that keeps the thread busy for longer than TURN_MS (a long stage of an analysis). */
function busy() {
  const until = performance.now() + TURN_MS + 5;
  while (performance.now() < until) {
    // spin: the point is to hold the thread as a long synchronous stage does
  }
}

describe('steps: long pure work that can yield to the event loop', () => {
  it('runStepsYielding lets queued callbacks run after a stage longer than TURN_MS, and returns what runSteps does', async () => {
    const order: string[] = [];
    function* work(): Steps<number> {
      order.push('stage 1');
      busy();
      yield;
      order.push('stage 2');
      return 42;
    }
    setImmediate(() => order.push('other work'));
    expect(await runStepsYielding(work())).toBe(42);
    expect(order).toEqual(['stage 1', 'other work', 'stage 2']);
    expect(runSteps(work())).toBe(42);
  });

  it('the async record reader, case analysis and report model equal the synchronous ones', async () => {
    const read = readRunRecord(SAMPLE);
    expect(await readRunRecordAsync(SAMPLE)).toEqual(read);
    const builder = new ReportModelBuilder();
    const scan = await scanRunRecord(SAMPLE, (e) => builder.add(e));
    expect(builder.finish(scan)).toEqual(buildReportModel(read));
    const entries: Entry[] = read.entries
      .filter((e) => (e.data as { caseId?: string }).caseId === 'ev-home')
      .map((e) => ({ kind: e.kind, data: e.data as Record<string, unknown> }));
    expect(entries.length).toBeGreaterThan(20);
    const sync = analyseCase(entries, { matchToleranceS: 1 });
    expect(sync.sections.billing).toBeDefined();
    expect(await analyseCaseAsync(entries, { matchToleranceS: 1 })).toEqual(sync);
  });

  it('the async record reader finds the same first tampered line', async () => {
    const text = readFileSync(SAMPLE, 'utf8').replace('"verdict":"FAIL"', '"verdict":"PASS"');
    const file = join(mkdtempSync(join(tmpdir(), 'tampered-')), 'record.jsonl');
    writeFileSync(file, text);
    const read = await readRunRecordAsync(file);
    expect(read.integrity).toBe('TAMPERED');
    expect(read).toEqual(readRunRecord(file));
  });

  it('the streaming scan hands on the entries the whole read keeps and judges every damaged record alike', async () => {
    const text = readFileSync(SAMPLE, 'utf8');
    const lines = text.split('\n');
    const variants: Record<string, string> = {
      whole: text,
      tampered: text.replace('"verdict":"FAIL"', '"verdict":"PASS"'),
      'cut mid-line': text.slice(0, text.length - 40),
      'no final newline': text.slice(0, -1),
      'no end entry': `${lines.slice(0, -2).join('\n')}\n`,
      'a carriage return added': text.replace('}\n', '}\r\n'),
      empty: '',
    };
    const dir = mkdtempSync(join(tmpdir(), 'scan-'));
    for (const [name, body] of Object.entries(variants)) {
      const file = join(dir, `${name}.jsonl`);
      writeFileSync(file, body);
      const seen: RecordEntry[] = [];
      const scan = await scanRunRecord(file, (e) => {
        seen.push(e);
        return undefined;
      });
      const { entries, ...read } = readRunRecord(file);
      expect({ name, ...scan }).toEqual({ name, ...read });
      expect(seen).toEqual(entries);
    }
  });

  it('a scan that skips a kind checks its lines unparsed, hands on the rest and judges every damaged record alike', async () => {
    const text = readFileSync(SAMPLE, 'utf8');
    const measurement = text.split('\n').find((l) => l.includes('"kind":"obs.meter.measurement"'))!;
    const variants: Record<string, string> = {
      whole: text,
      'a measurement changed': text.replace(measurement, measurement.replace('"meterId":"', '"meterId":"x')),
      'a measurement dropped': text.replace(`${measurement}\n`, ''),
      'a measurement resealed': text.replace(
        measurement,
        measurement.replace(/"hash":"[0-9a-f]{64}"/, `"hash":"${'a'.repeat(64)}"`),
      ),
      'cut mid-line': text.slice(0, text.length - 40),
      'a carriage return added': text.replace('}\n', '}\r\n'),
    };
    const dir = mkdtempSync(join(tmpdir(), 'scan-skip-'));
    const skip = (kind: string) => kind === 'obs.meter.measurement';
    for (const [name, body] of Object.entries(variants)) {
      const file = join(dir, `${name}.jsonl`);
      writeFileSync(file, body);
      const seen: RecordEntry[] = [];
      const scan = await scanRunRecord(
        file,
        (e) => {
          seen.push(e);
          return undefined;
        },
        { skip },
      );
      const { entries, ...read } = readRunRecord(file);
      expect({ name, ...scan }).toEqual({ name, ...read });
      // Up to the first problem: a problem ends the scan where the whole read stops keeping entries.
      expect(seen).toEqual(entries.filter((e) => !skip(e.kind)));
    }
  });

  it("a report model given its cases' analyses reads only their starts and verdicts, and equals the full one", async () => {
    const read = readRunRecord(SAMPLE);
    const analysed = new Map<string, ReturnType<typeof analyseCase>>();
    // As certify gives them: only cases that have entries (nilm has only its start and verdict here).
    for (const caseId of ['ev-home']) {
      const start = read.entries.find(
        (e) => e.kind === 'case.start' && (e.data as { caseId: string }).caseId === caseId,
      )!;
      const entries: Entry[] = read.entries
        .filter((e) => (e.data as { caseId?: string }).caseId === caseId && !e.kind.startsWith('case.'))
        .map((e) => ({ kind: e.kind, data: e.data as Record<string, unknown> }));
      analysed.set(caseId, analyseCase(entries, (start.data as { params?: Record<string, unknown> }).params ?? {}));
    }
    const builder = new ReportModelBuilder(analysed);
    const visited: string[] = [];
    const scan = await scanRunRecord(
      SAMPLE,
      (e) => {
        visited.push(e.kind);
        return builder.add(e);
      },
      { skip: (kind) => builder.skips(kind) },
    );
    expect(builder.finish(scan)).toEqual(buildReportModel(read));
    // Every case here is analysed or has no entries: only the run's frame and the cases' starts and verdicts are read.
    expect(new Set(visited)).toEqual(new Set(['header', 'case.start', 'case.verdict', 'end']));
  });
});
