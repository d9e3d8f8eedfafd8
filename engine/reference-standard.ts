import { RigError } from '../core/errors.js';
import { ENTRY, type ReferenceStandardData } from '../core/record/entries.js';
import type { RigConfig } from '../rigs/schema.js';
import type { CaseEntry } from './executor.js';

/**
 * The simulated rig measures the DUT against the scenario's exact energy. Its results are budgeted as a lab's
 * working standard would be, class 0.2 (IEC 62053-22 0.2 S), so a certificate from `sim` states the uncertainty
 * a bench with such a standard would, rather than none.
 */
export const VIRTUAL_REFERENCE: Omit<ReferenceStandardData, 'caseId'> = {
  instrument: 'virtual',
  description: "the simulated rig's exact synthesis, budgeted as a class 0.2 S working standard",
  accuracyClass: 0.2,
};

/** The reference standard a rig file declares (its reference instrument's calibration), if any. */
export function rigReferenceStandard(config: RigConfig): Omit<ReferenceStandardData, 'caseId'> | undefined {
  const inst = config.instruments.find((i) => i.role === 'reference' && i.calibration);
  const c = inst?.calibration;
  if (!inst || !c) return undefined;
  return {
    instrument: inst.id,
    description: `${inst.dialect} reference meter ${inst.id}`,
    ...(c.accuracyClass !== undefined && { accuracyClass: c.accuracyClass }),
    ...(c.certificate !== undefined && { certificate: c.certificate }),
    ...(c.expandedUncertaintyPct !== undefined && {
      expandedUncertaintyPct: c.expandedUncertaintyPct,
      coverageFactor: c.coverageFactor,
    }),
    ...(c.due !== undefined && { due: c.due }),
  };
}

/**
 * The reference standard entry of a metrology case (params `metrology`), checked as a lab must before it measures:
 * one is declared, and its calibration is not past due on `today` (YYYY-MM-DD). Either problem ends the case in
 * ERROR with the reason; other cases need none.
 */
export function referenceStandardEntries(
  params: Record<string, unknown>,
  reference: Omit<ReferenceStandardData, 'caseId'> | undefined,
  today: string,
  rigName: string,
): CaseEntry[] {
  if (params.metrology !== true) return [];
  if (!reference)
    throw new RigError(
      `rig ${rigName} declares no reference standard: an energy error needs one to state its uncertainty`,
      {
        code: 'NO_REFERENCE',
        device: 'reference',
        actions: [
          'Give the reference instrument a calibration in the rig file: accuracyClass, or certificate with expandedUncertaintyPct and due.',
        ],
      },
    );
  if (reference.due !== undefined && reference.due < today)
    throw new RigError(
      `the calibration of reference ${reference.instrument}${reference.certificate ? ` (certificate ${reference.certificate})` : ''} was due on ${reference.due}: results against it are not valid`,
      {
        code: 'CALIBRATION_DUE',
        device: reference.instrument,
        actions: ['Recalibrate the reference and enter the new certificate and due date in the rig file.'],
      },
    );
  return [{ kind: ENTRY.referenceStandard, data: { ...reference } }];
}
