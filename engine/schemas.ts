import { z } from 'zod';
import { InputError } from '../core/errors.js';

/** The data-file kinds `bench schema` can describe; each loader is imported only when asked for. */
export const SCHEMA_KINDS = ['suite', 'profile', 'scenario', 'rig', 'meter-config', 'report'] as const;
export type SchemaKind = (typeof SCHEMA_KINDS)[number];

const loaders: Record<SchemaKind, () => Promise<z.ZodType>> = {
  suite: async () => (await import('./suite.js')).suiteSchema,
  profile: async () => (await import('../profiles/schema.js')).profileSchema,
  scenario: async () => (await import('../profiles/scenario-schema.js')).scenarioSchema,
  rig: async () => (await import('../rigs/schema.js')).rigSchema,
  'meter-config': async () => (await import('../meter/config.js')).meterConfigSchema,
  report: async () => (await import('../reports/json.js')).jsonReportSchema,
};

export async function jsonSchemaFor(kind: string): Promise<Record<string, unknown>> {
  const load = loaders[kind as SchemaKind];
  if (!load) throw new InputError(`unknown schema kind ${kind}`, [], [`Kinds: ${SCHEMA_KINDS.join(', ')}`]);
  const schema = await load();
  return {
    $id: `https://bench.dev/schemas/${kind}.json`,
    title: `bench ${kind} file`,
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
  };
}
