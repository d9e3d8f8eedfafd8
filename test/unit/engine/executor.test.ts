import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaseEntries } from '../../../analysis/case-entries.js';
import { readRunRecord } from '../../../core/record/reader.js';
import { createRun } from '../../../core/record/store.js';
import { caseSeed, runSuite } from '../../../engine/executor.js';
import { type LoadedSuite, type Suite, suiteSchema } from '../../../engine/suite.js';
import { testHeader } from '../../support/header.js';
import { type MemoryBehaviour, MemoryRig } from '../../support/memory-rig.js';

function suiteOf(cases: Array<Partial<Suite['cases'][number]> & { id: string }>): LoadedSuite {
  const suite = suiteSchema.parse({
    name: 'unit',
    version: 1,
    title: 'unit',
    cases: cases.map((c) => ({
      title: c.id,
      scenario: 'none',
      criteria: [{ metric: 'detection.recall', op: '>=', limit: 0.9, marginal: 0.95, unit: '1' }],
      ...c,
    })),
  });
  return { suite, file: 'unit.yaml', sha256: 'x' };
}

/** Metric = fraction of truth events the rig "detected". */
function measure(_c: unknown, entries: CaseEntries) {
  const truth = entries.ofKind('truth.event').length;
  const seen = entries.ofKind('obs.meter.event').length;
  return { 'detection.recall': truth === 0 ? Number.NaN : seen / truth };
}

const detections = (n: number): MemoryBehaviour => ({
  kind: 'observe',
  events: Array.from({ length: n }, (_, i) => ({ kind: 'obs.meter.event', data: { t: i } })),
});

async function run(
  suite: LoadedSuite,
  rig: MemoryRig,
  signal = new AbortController().signal,
  collect?: (observe: (kind: string, data: Record<string, unknown>) => void) => Promise<void>,
  onPrepare?: (caseId: string) => void,
) {
  const dir = mkdtempSync(join(tmpdir(), 'exec-'));
  const { writer } = createRun(dir, testHeader());
  const progress: string[] = [];
  const outcome = await runSuite({
    suite,
    rig,
    writer,
    seed: 1,
    signal,
    // Long enough for the slow-to-stop rig, short for the one that ignores its signal.
    abortGraceMs: 1000,
    prepareCase: async (c, seed) => {
      onPrepare?.(c.id);
      return {
        plan: { caseId: c.id, scenario: null, params: {} },
        truth: Array.from({ length: 10 }, (_, i) => ({ kind: 'truth.event', data: { t: i, seed } })),
      };
    },
    measure,
    collect: collect && ((_c, observe) => collect(observe)),
    progress: {
      caseStarted: (id) => progress.push(`start ${id}`),
      caseProgress: () => {},
      caseFinished: (id, v) => progress.push(`end ${id} ${v}`),
      stop: () => progress.push('stop'),
    },
  });
  return { outcome, record: readRunRecord(writer.file), progress };
}

describe('executor', () => {
  it('runs every case, records truth and observations, and gives PASS / MARGINAL / FAIL', async () => {
    const suite = suiteOf([{ id: 'good' }, { id: 'edge' }, { id: 'bad' }]);
    const rig = new MemoryRig({ good: detections(10), edge: detections(9), bad: detections(5) });
    const { outcome, record, progress } = await run(suite, rig);
    expect(outcome.cases.map((c) => c.verdict)).toEqual(['PASS', 'MARGINAL', 'FAIL']);
    expect(outcome).toMatchObject({ status: 'COMPLETE', verdict: 'FAIL' });
    expect(record.integrity).toBe('OK');
    expect(record.entries.filter((e) => e.kind === 'truth.event')).toHaveLength(30);
    const verdicts = record.entries.filter((e) => e.kind === 'case.verdict').map((e) => e.data);
    expect(verdicts[2]).toMatchObject({ caseId: 'bad', verdict: 'FAIL', metrics: { 'detection.recall': 0.5 } });
    expect(progress).toEqual([
      'start good',
      'end good PASS',
      'start edge',
      'end edge MARGINAL',
      'start bad',
      'end bad FAIL',
      'stop',
    ]);
  });

  it('gives NOT RUN with the reason when the rig lacks a capability', async () => {
    const suite = suiteOf([{ id: 'cp', requires: ['ev.cp'] }]);
    const rig = new MemoryRig({});
    const { outcome } = await run(suite, rig);
    expect(outcome.cases[0]).toMatchObject({ verdict: 'NOT RUN', reason: 'rig memory lacks ev.cp' });
    expect(rig.ran).toEqual([]);
    expect(outcome.verdict).toBe('NOT RUN');
  });

  it('ends a case past its time limit with ERROR (TIMEOUT), even when the rig ignores the signal', async () => {
    const suite = suiteOf([{ id: 'slow', timeLimitS: 0.05 }, { id: 'stuck', timeLimitS: 0.05 }, { id: 'next' }]);
    const rig = new MemoryRig({
      slow: { kind: 'hang' },
      stuck: { kind: 'hang-ignoring-signal' },
      next: detections(10),
    });
    const { outcome, record } = await run(suite, rig);
    expect(outcome.cases.map((c) => [c.status, c.verdict])).toEqual([
      ['TIMEOUT', 'ERROR'],
      ['TIMEOUT', 'ERROR'],
      ['RAN', 'PASS'],
    ]);
    expect(outcome.cases[0]!.reason).toBe('time limit of 0.05 s exceeded');
    expect(record.integrity).toBe('OK');
  });

  it('records a rig error as ERROR naming the device and goes on', async () => {
    const suite = suiteOf([{ id: 'broken' }, { id: 'fine' }]);
    const rig = new MemoryRig({
      broken: { kind: 'throw-rig-error', message: 'no answer to *IDN?' },
      fine: detections(10),
    });
    const { outcome, record } = await run(suite, rig);
    expect(outcome.cases[0]).toMatchObject({ verdict: 'ERROR', reason: 'load-1: no answer to *IDN?' });
    expect(outcome.cases[1]!.verdict).toBe('PASS');
    expect(record.entries.some((e) => e.kind === 'case.error')).toBe(true);
  });

  it('stops cleanly on Ctrl-C: the record is closed ABORTED and reads INCOMPLETE', async () => {
    const suite = suiteOf([{ id: 'first' }, { id: 'second' }, { id: 'third' }]);
    const ctrlC = new AbortController();
    const rig = new MemoryRig({ first: detections(10), second: { kind: 'wait-for-abort' } }, undefined, (id) => {
      if (id === 'second') setTimeout(() => ctrlC.abort(), 10);
    });
    const { outcome, record } = await run(suite, rig, ctrlC.signal);
    expect(outcome.status).toBe('ABORTED');
    expect(rig.ran).toEqual(['first', 'second']);
    expect(record.integrity).toBe('INCOMPLETE');
    expect(record.end).toMatchObject({ status: 'ABORTED' });
  });

  it('Ctrl-C while a case is being prepared: that case never plays (an abort before the rig starts counts)', async () => {
    const suite = suiteOf([{ id: 'first' }, { id: 'second' }, { id: 'third' }]);
    const ctrlC = new AbortController();
    const rig = new MemoryRig({ first: detections(10), second: detections(10) });
    const { outcome, record } = await run(suite, rig, ctrlC.signal, undefined, (id) => {
      if (id === 'second') ctrlC.abort();
    });
    expect(rig.ran).toEqual(['first']);
    expect(outcome.cases.map((c) => [c.caseId, c.status, c.verdict])).toEqual([
      ['first', 'RAN', 'PASS'],
      ['second', 'ABORTED', 'ERROR'],
    ]);
    expect(record.end).toMatchObject({ status: 'ABORTED', verdict: 'ERROR' });
  });

  it('a rig told to stop finishes stopping before the run goes on (load off, files removed)', async () => {
    const suite = suiteOf([{ id: 'first' }, { id: 'second' }]);
    const ctrlC = new AbortController();
    const rig = new MemoryRig({ first: { kind: 'slow-to-stop', stopMs: 200 } }, undefined, () => {
      setTimeout(() => ctrlC.abort(), 10);
    });
    const { outcome } = await run(suite, rig, ctrlC.signal);
    expect(rig.stopped).toEqual(['first']);
    expect(outcome.cases.map((c) => c.status)).toEqual(['ABORTED']);
  });

  it('records what the collect step reads back before analysis, and a failing collect is an ERROR', async () => {
    const suite = suiteOf([{ id: 'a' }]);
    const ok = await run(suite, new MemoryRig({ a: detections(5) }), undefined, async (observe) => {
      for (let i = 0; i < 5; i++) observe('obs.meter.event', { t: 100 + i });
    });
    expect(ok.outcome.cases[0]!.verdict).toBe('PASS');
    expect(ok.record.entries.filter((e) => e.kind === 'obs.meter.event')).toHaveLength(10);
    const bad = await run(suite, new MemoryRig({ a: detections(10) }), undefined, async () => {
      throw new Error('chain went away');
    });
    expect(bad.outcome.cases[0]).toMatchObject({ verdict: 'ERROR', reason: 'internal error: chain went away' });
  });

  it('derives a stable, distinct seed per case', () => {
    expect(caseSeed(7, 'a')).toBe(caseSeed(7, 'a'));
    expect(caseSeed(7, 'a')).not.toBe(caseSeed(7, 'b'));
    expect(caseSeed(7, 'a')).not.toBe(caseSeed(8, 'a'));
  });
});
