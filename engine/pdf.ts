import { existsSync } from 'node:fs';
import { RigError } from '../core/errors.js';

/** Where Debian installs Chromium (scripts/setup-system.sh); CHROMIUM_PATH overrides it. */
const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium, the one installed on the machine (CHROMIUM_PATH, else Debian's), with its background
 * networking off: a report makes no request, and nothing else should either. A RigError naming the path when there
 * is none.
 */
export async function launchChromium(): Promise<import('puppeteer-core').Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM;
  if (!existsSync(executablePath))
    throw new RigError(
      `Chromium not found at ${executablePath}: reports are printed and checked in headless Chromium`,
      {
        code: 'NO_BROWSER',
        device: 'chromium',
        actions: ["Install Debian's chromium (scripts/setup-system.sh does it as root), or set CHROMIUM_PATH."],
      },
    );
  const { default: puppeteer } = await import('puppeteer-core');
  return puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Prints an HTML report to an A4 PDF in headless Chromium (puppeteer-core drives the browser installed on the
 * machine; no download): the same page the HTML report is, with its print stylesheet, and page numbers in the
 * footer. The page makes no network requests, so the browser is started with its background networking off.
 */
export async function printPdf(html: string): Promise<Buffer> {
  const browser = await launchChromium();
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
