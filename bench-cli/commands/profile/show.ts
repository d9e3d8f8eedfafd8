import { Args } from '@oclif/core';
import { getBuiltinProfile, loadProfileFile } from '../../../profiles/library.js';
import type { Profile } from '../../../profiles/schema.js';
import { BenchCommand } from '../../base-command.js';

export default class ProfileShow extends BenchCommand {
  static override summary = 'Show a profile (built-in name or YAML file).';
  static override args = {
    profile: Args.string({ required: true, description: 'Built-in profile name or YAML path.' }),
  };

  async run(): Promise<Profile> {
    const { args } = await this.parse(ProfileShow);
    const p = /\.(ya?ml|json)$/.test(args.profile) ? loadProfileFile(args.profile) : getBuiltinProfile(args.profile);
    this.say(`${p.name} (${p.class}) — ${p.description}\nsource: ${p.source}`);
    for (const s of p.states) {
      this.say(
        `  ${s.name}: ${s.kind} ${s.p} W${s.pf !== undefined ? ` pf ${s.pf}` : ''}${s.q !== undefined ? ` q ${s.q} var` : ''}${s.durationS ? ` for ${s.durationS} s` : ''}  harmonics ${s.harmonics.map((h) => `${h.order}:${h.ratio}`).join(' ') || '—'}`,
      );
    }
    return p;
  }
}
