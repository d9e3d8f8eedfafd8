/**
 * The certificate part of a report: what a vendor shows (who tested which meter, against what, with which result,
 * and where the result is anchored), derived from the report model alone so a re-rendered report says the same.
 */
import { createHash } from 'node:crypto';
import { renderJson } from './json.js';
import type { ReportModel } from './model.js';

export interface IdentityRow {
  label: string;
  value: string;
  /** Where the value comes from (declared in the rig file, reported by the device, …); shown small beside it. */
  source?: string;
  /** Render as code (hashes, addresses). */
  code?: boolean;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined;

/**
 * The meter under test: what the rig file declares (the lab's nameplate reading) and what the device answered
 * itself (identify on its stream face, the simulated reference meter's identity). Both are shown when they differ.
 */
export function dutRows(m: ReportModel): IdentityRow[] {
  const declared = m.header?.rig?.dut ?? {};
  const reported = (m.identities.dut ?? {}) as Record<string, unknown>;
  const rows: IdentityRow[] = [];
  const add = (label: string, fromRig: string | undefined, fromDevice: string | undefined) => {
    if (fromDevice && fromRig && fromDevice !== fromRig) {
      rows.push({ label, value: fromDevice, source: `reported by the device; the rig file declares ${fromRig}` });
    } else if (fromDevice) rows.push({ label, value: fromDevice, source: 'reported by the device' });
    else if (fromRig) rows.push({ label, value: fromRig, source: 'declared in the rig file' });
    else rows.push({ label, value: 'not stated', source: 'neither declared in the rig file nor reported' });
  };
  add('Vendor', declared.vendor, str(reported.vendor) ?? str(reported.manufacturer));
  add('Model', declared.model, str(reported.model));
  add('Serial number', declared.serial, str(reported.serial) ?? str(reported.serialNumber));
  add('Firmware', declared.firmware, str(reported.firmwareVersion) ?? str(reported.firmware));
  const fwHash = str(reported.firmwareHash);
  if (fwHash) rows.push({ label: 'Firmware hash', value: fwHash, source: 'reported by the device', code: true });
  const address = str(reported.address);
  if (address) rows.push({ label: 'Signing key', value: address, source: 'reported by the device', code: true });
  const faults = reported.faults as Record<string, unknown> | undefined;
  if (faults && Object.keys(faults).length > 0) {
    rows.push({
      label: 'Injected faults',
      value: Object.entries(faults)
        .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(', '),
      source: 'simulated meter configuration',
    });
  }
  return rows;
}

export function labRows(m: ReportModel): IdentityRow[] {
  const lab = m.header?.lab;
  if (!lab) return [{ label: 'Lab', value: 'not stated', source: 'certify --lab / --lab-config' }];
  const rows: IdentityRow[] = [{ label: 'Lab', value: lab.name }];
  if (lab.address) rows.push({ label: 'Address', value: lab.address });
  if (lab.accreditation) rows.push({ label: 'Accreditation', value: lab.accreditation });
  if (lab.contact) rows.push({ label: 'Contact', value: lab.contact });
  rows.push({ label: 'Operator', value: lab.operator ?? 'not stated' });
  return rows;
}

/** The cases of the suite the run did not include (a `--case` run), when the record lists the suite's cases. */
export function casesNotRun(m: ReportModel): string[] {
  const all = m.header?.suite?.cases;
  if (!all) return [];
  const ran = new Set(m.cases.map((c) => c.id));
  return all.filter((id) => !ran.has(id));
}

/**
 * The statement of conformity for the run's outcome. Only a complete PASS of every case of the suite states
 * conformity; everything else says what it is and why no conformity is stated.
 */
export function conformityStatement(m: ReportModel): { conforms: boolean; text: string } {
  const s = m.header?.suite;
  const suite = s
    ? `${s.title ?? s.name} (suite ${s.name} version ${s.version}, sha256 ${s.sha256.slice(0, 16)}…)`
    : 'the suite';
  const rig = m.header?.rig?.name ?? 'the rig';
  const n = m.cases.length;
  const cases = `${n} case${n === 1 ? '' : 's'}`;
  const failed = m.cases.filter((c) => c.verdict === 'FAIL' || c.verdict === 'ERROR').map((c) => c.id);
  const missing = casesNotRun(m);
  switch (m.outcome) {
    case 'PASS':
      if (missing.length > 0) {
        return {
          conforms: false,
          text: `The ${cases} run met every criterion of ${suite}, but ${missing.length} case${missing.length === 1 ? ' was' : 's were'} not run (${missing.join(', ')}). No statement of conformity to the suite is made for a partial run.`,
        };
      }
      return {
        conforms: true,
        text: `The meter under test conforms to the criteria of ${suite}: all ${cases} passed on rig ${rig}. The statement covers only the suite's criteria, as tested.`,
      };
    case 'MARGINAL':
      return {
        conforms: false,
        text: `The meter under test met the limits of ${suite}, but ${m.counts.MARGINAL} of ${cases} ended MARGINAL (a result close to its limit). No statement of conformity is made; the marginal results need review or a retest.`,
      };
    case 'FAIL':
      return {
        conforms: false,
        text: `The meter under test does not conform to ${suite}: ${failed.length} of ${cases} failed (${failed.join(', ')}).`,
      };
    case 'ERROR':
      return {
        conforms: false,
        text: `No statement of conformity: the run ended in a bench or rig error${failed.length ? ` (${failed.join(', ')})` : ''}, so ${suite} was not fully tested.`,
      };
    case 'NOT RUN':
      return {
        conforms: false,
        text: `No statement of conformity: rig ${rig} could not run the cases of ${suite}.`,
      };
    case 'INCOMPLETE':
      return {
        conforms: false,
        text: 'No statement of conformity: the run record is incomplete (the run was interrupted or crashed).',
      };
    case 'TAMPERED':
      return {
        conforms: false,
        text: 'No statement of conformity: the run record fails its integrity check (it was changed after the run).',
      };
  }
}

/** The ledger anchor of the JSON report, with the commands that check the run against the ledger. */
export function anchorRows(m: ReportModel): { rows: IdentityRow[]; note?: string } {
  const a = m.anchor;
  if (!a) {
    return {
      rows: [],
      note:
        m.integrity === 'OK'
          ? 'This report is not anchored on a ledger (no anchor receipt beside the record).'
          : 'An incomplete record is never anchored.',
    };
  }
  // The receipt names the JSON report's hash; it is this record's only if that report renders to the same bytes.
  const own = createHash('sha256').update(renderJson(m)).digest('hex') === a.reportSha256;
  const verify = `bench ledger verify ${m.runId}${a.ledger === 'external' && a.url ? ` --ledger ${a.url}` : ''}`;
  const rows: IdentityRow[] = [
    {
      label: 'Chain',
      value: `chain id ${a.chainId}, ${a.ledger === 'embedded' ? 'embedded (in-memory)' : (a.url ?? 'external')}`,
    },
    { label: 'ReportAnchor contract', value: a.contract, code: true },
    { label: 'Block', value: String(a.block) },
    { label: 'Transaction', value: a.txHash, code: true },
    {
      label: `Anchored ${a.report}`,
      value: `sha256 ${a.reportSha256}`,
      source: own ? 'the JSON report of this record' : 'does NOT match the JSON report of this record',
      code: true,
    },
    { label: 'Verify billing', value: verify, code: true },
  ];
  return {
    rows,
    note:
      a.ledger === 'embedded'
        ? 'The anchor was written to an in-memory chain that ended with the run: it cannot be checked later. ' +
          '`bench ledger verify` replays the billing records on a fresh chain; certify with --ledger URL for an anchor a third party can check.'
        : undefined,
  };
}
