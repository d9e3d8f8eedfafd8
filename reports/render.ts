import { InputError } from '../core/errors.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { ReportModel } from './model.js';
import { ocmfKeyFor, renderOcmf } from './ocmf.js';

/** Formats rendered as text by a pure function of the report model. */
export const TEXT_FORMATS = ['html', 'json', 'junit', 'md', 'ocmf'] as const;
export type TextReportFormat = (typeof TEXT_FORMATS)[number];
/** Every format: the text ones, and `pdf`, the HTML report printed by headless Chromium (engine/pdf.ts). */
export const REPORT_FORMATS = [...TEXT_FORMATS, 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
/** What certify and `bench report` write unless asked: the text formats (a PDF needs a browser, so it is asked for). */
export const DEFAULT_FORMATS: readonly ReportFormat[] = TEXT_FORMATS;

export const REPORT_FILE: Record<ReportFormat, string> = {
  html: 'report.html',
  json: 'report.json',
  junit: 'junit.xml',
  md: 'summary.md',
  ocmf: 'billing.ocmf.txt',
  pdf: 'certificate.pdf',
};

export function isTextFormat(format: ReportFormat): format is TextReportFormat {
  return format !== 'pdf';
}

export async function renderReport(format: TextReportFormat, model: ReportModel): Promise<string> {
  switch (format) {
    case 'html':
      return renderHtml(model);
    case 'json':
      return renderJson(model);
    case 'junit':
      return renderJunit(model);
    case 'md':
      return renderMarkdown(model);
    case 'ocmf': {
      const dut = (model.identities.dut ?? {}) as { model?: string; firmwareVersion?: string };
      return renderOcmf(
        model,
        {
          vendor: 'bench',
          model: dut.model ?? 'meter under test',
          serial: model.runId,
          firmware: dut.firmwareVersion ?? 'unknown',
        },
        ocmfKeyFor(model),
      );
    }
  }
}

export function parseFormats(list: string): ReportFormat[] {
  const formats = list
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  for (const f of formats) {
    if (!(REPORT_FORMATS as readonly string[]).includes(f)) {
      throw new InputError(
        `unknown report format ${f}`,
        [{ file: '--format', field: f, message: 'unknown format' }],
        [`Formats: ${REPORT_FORMATS.join(', ')}`],
      );
    }
  }
  return formats as ReportFormat[];
}
