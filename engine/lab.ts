/**
 * Who certifies: the lab and its operator, printed on the certificate. From a lab file (`--lab-config lab.yaml`)
 * and/or the `--lab` / `--operator` flags (a flag wins over the file), recorded in the run header so every report
 * re-rendered from the record names the same lab.
 */
import { z } from 'zod';
import { InputError } from '../core/errors.js';
import { loadYamlFile } from '../core/files/load-yaml.js';

const text = z.string().trim().min(1).max(200);

export const labConfigSchema = z
  .object({
    lab: z
      .object({
        name: text,
        address: text.optional(),
        /** Accreditation body and number, e.g. "DAkkS D-PL-12345-01-00 (ISO/IEC 17025)". */
        accreditation: text.optional(),
        contact: text.optional(),
      })
      .strict(),
    operator: text.optional(),
  })
  .strict();
export type LabConfig = z.output<typeof labConfigSchema>;

/** The lab block of the run header. */
export interface LabIdentity {
  name: string;
  address?: string;
  accreditation?: string;
  contact?: string;
  operator?: string;
}

export function resolveLab(opts: { labConfig?: string; lab?: string; operator?: string }): LabIdentity | undefined {
  const file = opts.labConfig ? loadYamlFile(opts.labConfig, labConfigSchema) : undefined;
  for (const [flag, value] of [
    ['--lab', opts.lab],
    ['--operator', opts.operator],
  ] as const) {
    if (value !== undefined && text.safeParse(value).success === false) {
      throw new InputError(`${flag} must be 1 to 200 characters of text`, [
        { file: flag, message: 'empty or too long' },
      ]);
    }
  }
  const name = opts.lab?.trim() ?? file?.lab.name;
  const operator = opts.operator?.trim() ?? file?.operator;
  if (!name) {
    if (operator) {
      throw new InputError('--operator needs a lab: pass --lab NAME or --lab-config FILE', [
        { file: '--operator', message: 'no lab named' },
      ]);
    }
    return undefined;
  }
  return { ...file?.lab, name, ...(operator ? { operator } : {}) };
}
