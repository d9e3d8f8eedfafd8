import { listBuiltinProfiles } from '../../../profiles/library.js';
import { BenchCommand } from '../../base-command.js';

export interface ProfileListResult {
  profiles: Array<{ name: string; class: string; p: number; states: number; charger?: string }>;
}

export default class ProfileList extends BenchCommand {
  static override summary = 'List the built-in load-signature profiles.';

  async run(): Promise<ProfileListResult> {
    await this.parse(ProfileList);
    const profiles = listBuiltinProfiles().map((p) => ({
      name: p.name,
      class: p.class,
      p: p.states[0]!.p,
      states: p.states.length,
      charger: p.ev?.charger,
    }));
    for (const p of profiles)
      this.say(
        `${p.name.padEnd(18)} ${p.class.padEnd(16)} ${String(p.p).padStart(6)} W  ${p.states} state(s)${p.charger ? `  charger ${p.charger}` : ''}`,
      );
    return { profiles };
  }
}
