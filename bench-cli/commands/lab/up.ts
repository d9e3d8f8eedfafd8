import { Flags } from '@oclif/core';
import { type LocalLab, labUp } from '../../../farm/cluster.js';
import { BenchCommand } from '../../base-command.js';

export default class LabUp extends BenchCommand {
  static override summary = "Start a one-machine lab's PostgreSQL cluster (created on first use) and print its URL.";
  static override description =
    "Debian's PostgreSQL server binaries (initdb, pg_ctl) run the cluster under --dir, on 127.0.0.1 only; as root it belongs to the postgres system user. The admin password is written to <dir>/pgpass (mode 600), never printed: export PGPASSFILE=<dir>/pgpass, then `bench lab init --db <url>`.";
  static override examples = ['<%= config.bin %> lab up', '<%= config.bin %> lab up --dir /srv/bench-lab --port 5433'];
  static override flags = {
    dir: Flags.string({ description: 'Directory of the cluster (data, log, pgpass).', default: '.bench/lab' }),
    port: Flags.integer({ description: 'TCP port (default: the one it had, else a free one).', min: 1, max: 65535 }),
  };

  async run(): Promise<LocalLab> {
    const { flags } = await this.parse(LabUp);
    const lab = await labUp({ dir: flags.dir, port: flags.port });
    this.say(`${lab.started ? 'started' : 'already running'}: ${lab.url}`);
    this.say(`  export PGPASSFILE=${lab.passFile}`);
    this.say(`  export BENCH_LAB_DB=${lab.url}`);
    return lab;
  }
}
