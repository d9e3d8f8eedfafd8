import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchAsync } from '../../support/cli.js';

/** Every entry of a run's record but its header and end (which carry argv and times), as kind and data. */
function entriesOf(runsDir: string) {
  const [runId] = readdirSync(runsDir);
  return readFileSync(join(runsDir, runId!, 'record.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; data: Record<string, unknown> })
    .filter((e) => e.kind !== 'header' && e.kind !== 'end')
    .map((e) => ({ kind: e.kind, data: e.data }));
}

describe('the sim rig’s meters on worker threads', () => {
  it('records the same entries, metrics, verdicts and billing records on 0, 1 or 2 workers (multi-house cases)', async () => {
    const cases = ['ev-at-neighbour', 'ev-visiting', 'ev-three-phase-neighbour'].flatMap((c) => ['--case', c]);
    const run = async (workers: number) => {
      const dir = mkdtempSync(join(tmpdir(), `lanes-${workers}-`));
      const r = await benchAsync([
        'certify',
        ...cases,
        '--seed',
        '1',
        '--workers',
        String(workers),
        '--format',
        'json',
        '--runs-dir',
        join(dir, 'runs'),
        '--reports-dir',
        join(dir, 'reports'),
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      return {
        result: r.json<{ verdict: string; cases: Array<{ id: string; verdict: string }> }>(),
        entries: entriesOf(join(dir, 'runs')),
      };
    };
    const single = await run(0);
    const kinds = new Set(single.entries.map((e) => e.kind));
    // The comparison covers what matters: measurements, events, billing records and what landed, and the verdicts.
    for (const k of [
      'obs.meter.measurement',
      'obs.meter.event',
      'obs.meter.billing',
      'obs.ledger.landed',
      'case.verdict',
    ])
      expect(kinds).toContain(k);
    for (const workers of [1, 2]) {
      const parallel = await run(workers);
      expect(parallel.result.cases).toEqual(single.result.cases);
      expect(parallel.entries.length).toBe(single.entries.length);
      // Entry by entry, so a difference names its place in the record.
      for (let i = 0; i < single.entries.length; i++)
        expect(parallel.entries[i], `entry ${i}`).toEqual(single.entries[i]);
    }
  });
});
