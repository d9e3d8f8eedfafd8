import { existsSync } from 'node:fs';
import { RigError } from '../core/errors.js';

/** Where Debian installs Chromium (scripts/setup-system.sh); CHROMIUM_PATH overrides it. */
const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/**
 * Prints an HTML report to an A4 PDF in headless Chromium (puppeteer-core drives the browser installed on the
 * machine; no download): the same page the HTML report is, with its print stylesheet, and page numbers in the
 * footer. The page makes no network requests, so the browser is started with its background networking off.
 */
export async function printPdf(html: string): Promise<Buffer> {
  const executablePath = process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM;
  if (!existsSync(executablePath))
    throw new RigError(`Chromium not found at ${executablePath}: the PDF certificate is printed by headless Chromium`, {
      code: 'NO_BROWSER',
      device: 'chromium',
      actions: ["Install Debian's chromium (scripts/setup-system.sh does it), or set CHROMIUM_PATH."],
    });
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    const pdf = await page.pdf({
      format: 'A4',
      printBackground: true,
      displayHeaderFooter: true,
      headerTemplate: '<span></span>',
      footerTemplate:
        '<div style="font-size:8px;width:100%;text-align:center;color:#4a5568"><span class="pageNumber"></span> / <span class="totalPages"></span></div>',
      margin: { top: '14mm', bottom: '16mm', left: '12mm', right: '12mm' },
    });
    return Buffer.from(pdf);
  } finally {
    await browser.close();
  }
}
