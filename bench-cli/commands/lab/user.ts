import { Args, Flags } from '@oclif/core';
import { withLab } from '../../../farm/db.js';
import { LAB_ROLES } from '../../../farm/schema.js';
import { addLabUser } from '../../../farm/users.js';
import { BenchCommand } from '../../base-command.js';
import { labDbFlag } from '../../flags.js';

export default class LabUser extends BenchCommand {
  static override summary =
    'Add a lab user: an agent (takes jobs, writes its own results), a viewer (reads) or an admin (submits, cancels).';
  static override description =
    'The password is generated and written to --pass-file (pgpass format, mode 600) for that user: hand the file to the bench host or person, and set PGPASSFILE to it there.';
  static override examples = ['<%= config.bin %> lab user agent_bench1 --role agent --pass-file bench1.pgpass'];
  static override args = { name: Args.string({ description: 'Login name (a PostgreSQL role).', required: true }) };
  static override flags = {
    db: labDbFlag,
    role: Flags.string({ description: 'What the user may do.', options: [...LAB_ROLES], required: true }),
    'pass-file': Flags.string({ description: "File to write the user's pgpass line to.", required: true }),
  };

  async run(): Promise<{ name: string; role: string; passFile: string }> {
    const { args, flags } = await this.parse(LabUser);
    return withLab(flags.db, async (pool, url) => {
      const u = await addLabUser(pool, url, { name: args.name, role: flags.role, passFile: flags['pass-file'] });
      this.say(`added ${u.name} (${u.role}); its password is in ${u.passFile}`);
      return u;
    });
  }
}
