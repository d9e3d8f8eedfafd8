import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import type { LandedRecordJson } from '../../billing/landed.js';
import { ENTRY, type TruthSessionData } from '../../core/record/entries.js';
import { readRunRecordAsync } from '../../core/record/reader.js';
import { RECORD_FILE } from '../../core/record/store.js';
import { certify } from '../../engine/certify.js';
import { rigProvider } from '../../engine/rig-provider.js';

const SUITE = join(import.meta.dirname, '../fixtures/load/week-load.yaml');
const HOUSES = 4;
const DAY = 86_400;
const WEEK = 7 * DAY;
/** Heap is sampled (after a full GC) every this many simulated seconds. */
const SAMPLE_EVERY_S = 3 * 3600;
/**
 * How much JS memory (heap after a full GC, plus typed-array buffers) may grow from day 2 to day 7. The executor
 * keeps a case's entries for its analysis (1-minute measurements, pulse reads, events and logs of four meters:
 * ~14k entries and ~3 MB a simulated day, ~14 MB from day 2 to day 7 as measured), so memory is not expected to be
 * constant; a leak of 40 bytes per meter-second (one block) would add ~60 MB more, one per cycle far more.
 */
const MEMORY_GROWTH_LIMIT_MB = 64;
/** RSS also counts the allocator's and V8's own slack, so its guard is looser: it catches native leaks. */
const RSS_GROWTH_LIMIT_MB = 192;
const MB = 1024 * 1024;

/** A full, synchronous GC: `--expose-gc` set at run time, so the test needs no special flags. */
function fullGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Sample {
  simS: number;
  /** heapUsed + external (ArrayBuffers: the synthesized waveforms live there). */
  js: number;
  rss: number;
}

describe('load: four meters for a simulated week through bench certify (sim rig, embedded ledger)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'week-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bills every EV session exactly once on the ledger, the record reads OK, and memory stays flat', async () => {
    const gc = fullGc();
    const samples: Sample[] = [];
    let nextSample = 0;
    const sample = (simS: number) => {
      gc();
      const m = process.memoryUsage();
      samples.push({ simS, js: m.heapUsed + m.external, rss: m.rss });
    };
    const wallStart = performance.now();
    const r = await certify(
      {
        suite: SUITE,
        rig: 'sim',
        seed: 2026,
        runsDir: join(dir, 'runs'),
        reportsDir: join(dir, 'reports'),
        formats: ['json'],
        signal: new AbortController().signal,
        argv: [],
        progress: {
          caseStarted: () => {},
          // The sim rig plays the houses side by side, so simulated time is the work done over the houses.
          caseProgress: (_id, done) => {
            const simS = done / HOUSES;
            if (simS >= nextSample) {
              sample(simS);
              nextSample += SAMPLE_EVERY_S;
            }
          },
          caseFinished: () => {},
          stop: () => {},
        },
      },
      rigProvider,
    );
    const wallS = (performance.now() - wallStart) / 1000;

    const [c] = r.cases;
    expect(c?.failed).toEqual([]);
    expect(c?.verdict).toMatch(/^(PASS|MARGINAL)$/);
    expect(r.exitCode).toBe(0);

    const recordFile = join(r.runDir, RECORD_FILE);
    // Async: verifying a week's record takes seconds the vitest worker must not spend blocked.
    const record = await readRunRecordAsync(recordFile);
    expect(record.integrity).toBe('OK');

    const data = (kind: string) => record.entries.filter((e) => e.kind === kind).map((e) => e.data);
    const metrics = (data(ENTRY.caseVerdict)[0] as { metrics: Record<string, number> }).metrics;
    const sessions = data(ENTRY.truthSession) as TruthSessionData[];
    const landed = data(ENTRY.ledgerLanded) as LandedRecordJson[];

    // The scenario covers what the load test is about: four meters, a week, roaming and unauthorised sessions.
    expect(new Set(sessions.map((s) => s.meterId)).size).toBe(HOUSES);
    expect(Math.max(...sessions.map((s) => s.end))).toBeGreaterThan(WEEK - DAY);
    expect(sessions.filter((s) => s.roaming).length).toBeGreaterThanOrEqual(4);
    expect(sessions.filter((s) => !s.authorised).length).toBe(2);

    expect(metrics['billing.expected']).toBe(sessions.length);
    expect(metrics['billing.missing']).toBe(0);
    expect(metrics['billing.duplicates']).toBe(0);

    // Every expected session has exactly one record on the chain, and every record on the chain is one session.
    const matches = (s: TruthSessionData, l: LandedRecordJson) =>
      l.record.meter.toLowerCase() === s.meterAddress.toLowerCase() &&
      Math.abs(Number(l.record.start) - s.startUnix) <= 2 &&
      Math.abs(Number(l.record.end) - s.endUnix) <= 2;
    expect(sessions.map((s) => `${s.sessionId}: ${landed.filter((l) => matches(s, l)).length}`)).toEqual(
      sessions.map((s) => `${s.sessionId}: 1`),
    );
    expect(landed.filter((l) => !sessions.some((s) => matches(s, l)))).toEqual([]);
    expect(new Set(landed.map((l) => `${l.record.meter}/${l.record.seq}`)).size).toBe(landed.length);
    expect(landed).toHaveLength(sessions.length);
    // Authorised EVs pay wherever they charge; unauthorised sessions are billed to the host's account.
    for (const s of sessions) {
      const l = landed.find((x) => matches(s, x))!;
      expect(l.record.payer).toBe(s.authorised ? s.payerPseudonym : s.hostPseudonym);
      expect(l.record.attributed).toBe(s.authorised);
    }
    expect(metrics['billing.payer_mismatch']).toBe(0);
    expect(metrics['billing.cost_mismatch']).toBe(0);

    // Memory around day 2 against the end of the week: medians of the samples, so one odd sample cannot decide.
    const early = samples.filter((s) => s.simS >= 1.5 * DAY && s.simS <= 2.5 * DAY);
    const late = samples.filter((s) => s.simS >= 6 * DAY);
    expect(early.length).toBeGreaterThanOrEqual(3);
    expect(late.length).toBeGreaterThanOrEqual(3);
    const mb = (xs: Sample[], key: 'js' | 'rss') => median(xs.map((s) => s[key])) / MB;
    const figures = {
      wallS: Math.round(wallS),
      sessions: sessions.length,
      landed: landed.length,
      entries: record.entries.length,
      recordMb: Math.round(statSync(recordFile).size / MB),
      jsDay2Mb: Math.round(mb(early, 'js')),
      jsDay7Mb: Math.round(mb(late, 'js')),
      rssDay2Mb: Math.round(mb(early, 'rss')),
      rssDay7Mb: Math.round(mb(late, 'rss')),
      jsEvery12h: samples.filter((_, i) => i % 4 === 0).map((s) => Math.round(s.js / MB)),
    };
    // Figures for the log (CI keeps it): duration, volume and memory of the run.
    console.log(`week-load: ${JSON.stringify(figures)}`);
    expect(mb(late, 'js') - mb(early, 'js')).toBeLessThan(MEMORY_GROWTH_LIMIT_MB);
    expect(mb(late, 'rss') - mb(early, 'rss')).toBeLessThan(RSS_GROWTH_LIMIT_MB);
  });
});
