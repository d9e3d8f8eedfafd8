import { redactUrl, withLab } from '../../../farm/db.js';
import { MIGRATIONS, migrate, migrateQueue } from '../../../farm/schema.js';
import { BenchCommand } from '../../base-command.js';
import { labDbFlag } from '../../flags.js';

export default class LabInit extends BenchCommand {
  static override summary = 'Create or migrate the lab schema (and the job queue) on a PostgreSQL database.';
  static override examples = ['<%= config.bin %> lab init --db postgres://bench@127.0.0.1:5433/bench_lab'];
  static override flags = { db: labDbFlag };

  async run(): Promise<{ db: string; applied: number[]; version: number }> {
    const { flags } = await this.parse(LabInit);
    return withLab(flags.db, async (pool, url) => {
      // pg-boss's schema first: the lab's role grants name its tables.
      await migrateQueue(url);
      const applied = await migrate(pool);
      const version = MIGRATIONS.at(-1)!.version;
      this.say(
        applied.length
          ? `lab schema at version ${version} (applied ${applied.join(', ')}) on ${redactUrl(url)}`
          : `lab schema already at version ${version} on ${redactUrl(url)}`,
      );
      return { db: redactUrl(url), applied, version };
    });
  }
}
