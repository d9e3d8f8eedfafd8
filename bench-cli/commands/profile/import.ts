import { Args, Flags } from '@oclif/core';
import { stringify } from 'yaml';
import { writeOutputFile } from '../../../core/files/io.js';
import { importPlaid } from '../../../profiles/importers.js';
import type { Profile } from '../../../profiles/schema.js';
import { BenchCommand } from '../../base-command.js';

export default class ProfileImport extends BenchCommand {
  static override summary =
    'Fit a profile (P, Q, current harmonics) from a PLAID record: a headerless current,voltage CSV and its metadata JSON.';
  static override args = { csv: Args.string({ required: true, description: 'PLAID record CSV (current,voltage).' }) };
  static override flags = {
    format: Flags.string({ default: 'plaid', options: ['plaid'], description: 'Format of the record.' }),
    meta: Flags.string({ required: true, description: 'PLAID metadata JSON (keyed by record id).' }),
    'mains-hz': Flags.string({ default: '60', options: ['50', '60'], description: 'Mains frequency of the record.' }),
    out: Flags.string({ description: 'Write the profile YAML here (default: stdout).' }),
  };

  async run(): Promise<Profile & { file?: string }> {
    const { args, flags } = await this.parse(ProfileImport);
    const p = importPlaid(args.csv, flags.meta, { mainsHz: Number(flags['mains-hz']) });
    const yaml = `# ${p.description}\n${stringify(p, { lineWidth: 120 })}`;
    if (flags.out) {
      writeOutputFile('--out', flags.out, yaml);
      const s = p.states[0]!;
      this.say(`wrote ${flags.out}: ${p.name} (${p.class}) ${s.p} W, ${s.q ?? 0} var, ${s.harmonics.length} harmonics`);
    } else if (!this.jsonEnabled()) {
      this.log(yaml);
    }
    return { ...p, file: flags.out };
  }
}
