import { Flags } from '@oclif/core';
import { withLabQueue } from '../../../farm/db.js';
import { DEFAULT_LEASE_S, type Submitted, submit } from '../../../farm/submit.js';
import { BenchCommand } from '../../base-command.js';
import { labDbFlag } from '../../flags.js';

export default class LabSubmit extends BenchCommand {
  static override summary = 'Queue a suite for the lab: one job per seed, taken by agents whose rig can run it.';
  static override examples = [
    '<%= config.bin %> lab submit --suite ev-billing --seeds 1-100 --device vendor-a-fw2.1',
    '<%= config.bin %> lab submit --suite metrology-mid --rig-tags lab-a,three-phase --priority 10',
  ];
  static override flags = {
    db: labDbFlag,
    suite: Flags.string({ description: 'Built-in suite name or suite YAML file.', required: true }),
    seeds: Flags.string({ description: 'Seeds and ranges, e.g. 1-100 or 1,5,9.', default: '1' }),
    case: Flags.string({ description: 'Run only these case ids of the suite.', multiple: true }),
    device: Flags.string({
      description: 'The device under test (vendor, model, firmware): trends and comparisons group by it.',
    }),
    'rig-tags': Flags.string({ description: 'Tags an agent must have to take these jobs, comma-separated.' }),
    priority: Flags.integer({ description: 'Higher runs first.', default: 0 }),
    'meter-config': Flags.string({
      description: 'Reference-meter configuration YAML (fault knobs) for simulated rigs.',
    }),
    lease: Flags.integer({
      description: `Seconds an agent may hold a job before it goes back to the queue (default ${DEFAULT_LEASE_S}).`,
      min: 10,
      max: 23 * 3600,
    }),
  };

  async run(): Promise<Submitted> {
    const { flags } = await this.parse(LabSubmit);
    return withLabQueue(flags.db, async (pool, boss) => {
      const out = await submit(pool, boss, {
        suite: flags.suite,
        seeds: flags.seeds,
        cases: flags.case,
        device: flags.device,
        rigTags: flags['rig-tags']
          ?.split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        priority: flags.priority,
        meterConfigFile: flags['meter-config'],
        leaseS: flags.lease,
      });
      this.say(`queued ${out.jobs.length} job(s) of ${flags.suite} (submission ${out.submission}, queue ${out.queue})`);
      return out;
    });
  }
}
