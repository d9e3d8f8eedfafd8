import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readRunRecord } from '../../core/record/reader.js';
import { jsonReportSchema, renderJson } from '../../reports/json.js';
import { renderJunit } from '../../reports/junit.js';
import { renderMarkdown } from '../../reports/markdown.js';
import { buildReportModel } from '../../reports/model.js';
import { ocmfPublicKey, ocmfSignatureProblem, p256PublicKeyHex, parseOcmf } from '../../protocols/ocmf.js';
import { ocmfKeyFor, renderOcmf } from '../../reports/ocmf.js';
import { writeSampleRun } from '../support/sample-run.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/records/sample.jsonl');
const GOLDEN = import.meta.dirname;
const update = process.env.UPDATE_GOLDEN === '1';

/** The fixture record is written once under a fixed clock and committed; regenerate with UPDATE_GOLDEN=1. */
async function fixture() {
  if (update) {
    vi.useFakeTimers({ now: new Date('2026-11-24T12:00:00Z'), toFake: ['Date'] });
    const dir = mkdtempSync(join(tmpdir(), 'golden-'));
    const { writer } = await writeSampleRun(dir);
    writer.close({ status: 'COMPLETE', verdict: 'FAIL' });
    vi.useRealTimers();
    mkdirSync(join(GOLDEN, '../fixtures/records'), { recursive: true });
    copyFileSync(writer.file, FIXTURE);
  }
  return buildReportModel(readRunRecord(FIXTURE));
}

function golden(name: string, actual: string) {
  const file = join(GOLDEN, name);
  if (update) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('golden reports', async () => {
  const model = await fixture();

  it('JSON report matches its golden file and its schema', () => {
    const json = renderJson(model);
    golden('report.json', json);
    expect(jsonReportSchema.safeParse(JSON.parse(json)).success).toBe(true);
  });
  it('JUnit report matches its golden file', () => golden('junit.xml', renderJunit(model)));
  it('Markdown summary matches its golden file', () => golden('summary.md', renderMarkdown(model)));
  it('OCMF export matches its golden file and every line verifies with the published key', () => {
    const text = renderOcmf(model, { vendor: 'bench', model: 'reference-meter', serial: model.runId, firmware: '1.0.0' }, ocmfKeyFor(model));
    golden('billing.ocmf.txt', text);
    const lines = text.split('\n').filter((l) => l.startsWith('OCMF|'));
    expect(lines).toHaveLength(1);
    const key = ocmfPublicKey(p256PublicKeyHex(ocmfKeyFor(model)));
    for (const l of lines) expect(ocmfSignatureProblem(parseOcmf(l), key)).toBeUndefined();
  });

  it('billing verification found the record correct', () => {
    const ev = model.cases.find((c) => c.id === 'ev-home')!;
    expect(ev.analysis?.metrics).toMatchObject({
      'billing.expected': 1,
      'billing.missing': 0,
      'billing.invalid_signature': 0,
      'billing.payer_mismatch': 0,
      'billing.energy_mismatch': 0,
      'billing.cost_mismatch': 0,
    });
  });
});
