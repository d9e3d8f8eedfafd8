import { withLab } from '../../../farm/db.js';
import { type LabStatus, labStatus } from '../../../farm/status.js';
import { BenchCommand } from '../../base-command.js';
import { labDbFlag } from '../../flags.js';

const age = (s: number | null) => (s === null ? '-' : s < 120 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`);

export default class LabStatusCommand extends BenchCommand {
  static override summary =
    'Queue depth per tag set, which agent holds which bench and since when, waiting and failed jobs.';
  static override flags = { db: labDbFlag };

  async run(): Promise<LabStatus> {
    const { flags } = await this.parse(LabStatusCommand);
    return withLab(flags.db, async (pool) => {
      const s = await labStatus(pool);
      this.say('queues:');
      for (const q of s.queues)
        this.say(
          `  ${q.queue}  tags [${q.tags.join(', ')}]  waiting ${q.waiting}  running ${q.active}  oldest ${age(q.oldestWaitingS)}`,
        );
      this.say('agents:');
      for (const a of s.agents)
        this.say(
          `  ${a.name}  bench ${a.bench}  ${a.stopped ? 'stopped' : a.job ? `job ${a.job} for ${age(a.jobForS)}` : 'idle'}  heartbeat ${age(a.heartbeatAgeS)} ago`,
        );
      this.say(`waiting: ${s.waiting.length}${s.waiting.length ? ` (oldest ${age(s.waiting.at(-1)!.ageS)})` : ''}`);
      for (const f of s.failed) this.say(`failed: ${f.id} ${f.suite} seed ${f.seed}: ${f.reason ?? '(no reason)'}`);
      this.say(`runs stored: ${s.runs}`);
      return s;
    });
  }
}
