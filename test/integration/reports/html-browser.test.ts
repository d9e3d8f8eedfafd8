import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunRecord } from '../../../core/record/reader.js';
import { launchChromium } from '../../../engine/pdf.js';
import { renderHtml } from '../../../reports/html.js';
import { buildReportModel } from '../../../reports/model.js';
import { REPO_ROOT } from '../../support/cli.js';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

describe('HTML report in a real browser', () => {
  it('opens in headless Chromium with no console errors and no network requests, and renders its charts', async () => {
    const model = buildReportModel(readRunRecord(join(REPO_ROOT, 'test/fixtures/records/sample.jsonl')));
    const html = await renderHtml(model);
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'sample-report.html');
    writeFileSync(file, html);

    // Fails (never skips) without Chromium, naming where it looked.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${(e as Error).message}`));
      page.on('request', (r) => {
        if (!r.url().startsWith('file://')) requests.push(r.url());
      });
      await page.goto(`file://${file}`, { waitUntil: 'load' });
      await page.screenshot({ path: join(ARTIFACTS, 'sample-report.png'), fullPage: true });
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
      // The certificate also prints: an A4 PDF from the same page.
      const pdf = await page.pdf({ format: 'A4', printBackground: true });
      writeFileSync(join(ARTIFACTS, 'sample-report.pdf'), pdf);
      expect(Buffer.from(pdf).subarray(0, 5).toString()).toBe('%PDF-');
      const facts = await page.evaluate(() => ({
        certificate: document.querySelector('section.cert')?.textContent ?? '',
        footer: document.querySelector('footer')?.textContent ?? '',
        // Every chart label inside its chart: none clipped at the SVG's edge.
        clipped: Array.from(document.querySelectorAll('figure.chart svg')).flatMap((svg) => {
          const box = svg.getBoundingClientRect();
          return Array.from(svg.querySelectorAll('text'))
            .filter((t) => t.textContent && getComputedStyle(t).opacity !== '0' && t.getAttribute('opacity') !== '0')
            .filter((t) => {
              const r = t.getBoundingClientRect();
              return (
                r.left < box.left - 0.5 ||
                r.right > box.right + 0.5 ||
                r.top < box.top - 0.5 ||
                r.bottom > box.bottom + 0.5
              );
            })
            .map((t) => t.textContent);
        }),
        title: document.title,
        hero: document.querySelector('.hero .badge')?.textContent,
        charts: document.querySelectorAll('figure.chart svg').length,
        cases: document.querySelectorAll('section.case').length,
        billingRows: document.querySelectorAll('section#case-ev-home table:last-of-type tr').length,
      }));
      expect(facts.hero).toBe('FAIL');
      expect(facts.cases).toBe(3);
      expect(facts.charts).toBeGreaterThanOrEqual(3);
      expect(facts.billingRows).toBe(2);
      expect(facts.title).toContain('FAIL');
      expect(facts.certificate).toContain('does not conform');
      expect(facts.certificate).toContain('Meter under test');
      expect(facts.footer).toContain(model.recordHash);
      expect(facts.clipped).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
