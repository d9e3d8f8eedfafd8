import { Flags } from '@oclif/core';
import { type AgentSummary, runAgent } from '../../farm/agent.js';
import { labUrl } from '../../farm/db.js';
import { BenchCommand } from '../base-command.js';
import { labDbFlag } from '../flags.js';
import { onStopSignal } from '../interrupt.js';

export default class Agent extends BenchCommand {
  static override summary =
    "Run a bench host's agent: take the lab's jobs this rig can run, one at a time, and upload the results.";
  static override description =
    'It holds its bench while it runs (no second agent drives it), heartbeats, and on Ctrl-C hands its job back to the queue. A job whose agent dies goes to another agent when its lease expires; its result is stored once.';
  static override examples = [
    '<%= config.bin %> agent --db postgres://agent1@lab-db:5432/bench_lab --rig rigs/lab-a.yaml --tags lab-a,three-phase',
  ];
  static override flags = {
    db: labDbFlag,
    rig: Flags.string({
      description: 'Built-in rig name or rig YAML file: the bench this host drives.',
      default: 'sim',
    }),
    tags: Flags.string({ description: "This bench's tags (what `lab submit --rig-tags` asks for), comma-separated." }),
    name: Flags.string({ description: "The agent's name in the lab (default <host>-<pid>)." }),
    bench: Flags.string({
      description:
        "The physical bench this rig drives, held by one agent at a time (default: a rig file's name; a built-in emulated rig is the agent's own).",
    }),
    'idle-exit': Flags.integer({ description: 'Exit after this many seconds without a job (a batch agent).', min: 1 }),
    'maintenance-interval': Flags.integer({
      description: 'Seconds between checks for expired leases (jobs of dead agents back to the queue).',
      default: 30,
      min: 1,
    }),
  };

  async run(): Promise<AgentSummary> {
    const { flags } = await this.parse(Agent);
    const controller = new AbortController();
    const release = onStopSignal((signal) => {
      process.stderr.write(`\n${signal}: handing the job back and stopping…\n`);
      controller.abort();
    });
    try {
      const summary = await runAgent({
        url: labUrl(flags.db),
        rig: flags.rig,
        tags: flags.tags
          ?.split(',')
          .map((t) => t.trim())
          .filter(Boolean),
        name: flags.name,
        bench: flags.bench,
        idleExitS: flags['idle-exit'],
        maintenanceS: flags['maintenance-interval'],
        signal: controller.signal,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      this.say(`${summary.name}: ${summary.jobs} job(s), ${summary.stored} result(s) stored`);
      return summary;
    } finally {
      release();
    }
  }
}
