import { Flags, type Interfaces } from '@oclif/core';
import { type CertifyOptions, type CertifyResult, certify } from '../../engine/certify.js';
import { resolveLab } from '../../engine/lab.js';
import { rigProvider } from '../../engine/rig-provider.js';
import type { SweepResult } from '../../engine/sweep.js';
import { DEFAULT_FORMATS, parseFormats, REPORT_FORMATS } from '../../reports/render.js';
import { BenchCommand } from '../base-command.js';
import { reportsDirFlag, runsDirFlag, seedFlag } from '../flags.js';
import { onStopSignal } from '../interrupt.js';
import { sweepProgress, terminalProgress } from '../progress.js';
import { renderCertifySummary, renderSweepSummary } from '../summary.js';

export default class Certify extends BenchCommand {
  static override summary = 'Certify a meter: run a suite on a rig, verify billing on the ledger, write reports.';
  static override description =
    'With no flags: the ev-billing suite on the built-in simulated rig with the reference meter and an embedded Ganache ledger.';
  static override examples = [
    '<%= config.bin %> certify',
    '<%= config.bin %> certify --suite smoke --seed 7',
    '<%= config.bin %> certify --seeds 1-100 --format json',
    '<%= config.bin %> certify --rig sim-serial --suite metrology-mid --time-scale 30',
    '<%= config.bin %> certify --rig sim-ocpp --suite ocpp-charging --time-scale 30',
    '<%= config.bin %> certify --rig rigs/lab-a.yaml --suite ev-billing --ledger http://127.0.0.1:8545',
  ];
  static override flags = {
    suite: Flags.string({ description: 'Built-in suite name or suite YAML file.', default: 'ev-billing' }),
    rig: Flags.string({
      description: 'Built-in rig name (sim, sim-serial, sim-ocpp, sim-ocpp16) or rig YAML file.',
      default: 'sim',
    }),
    seed: seedFlag('Seed of every random choice in the run.'),
    seeds: Flags.string({
      description:
        'Seed sweep: one run (and run record) per seed, side by side in child processes, then a pass-rate summary; exit 1 if any seed fails. Seeds and ranges, e.g. 1-100, 1,5,9 or 1-10,20.',
      exclusive: ['seed'],
    }),
    jobs: Flags.integer({
      description: 'Runs of a seed sweep at once (default: available cores; the built-in sim rig only).',
      min: 1,
      dependsOn: ['seeds'],
    }),
    'meter-config': Flags.string({
      description: 'Reference-meter configuration YAML (fault knobs, keys) for simulated rigs.',
    }),
    'time-scale': Flags.integer({
      description:
        'Scenario seconds per wall second on rigs with instruments. Real hardware runs at 1; the built-in emulated rigs follow the scale (for a rig file, start them with the same `bench sim up --time-scale`).',
      min: 1,
    }),
    workers: Flags.integer({
      description:
        "Worker threads for the built-in sim rig's meters (0: all on the main thread; default: one per house up to the cores when a case has several houses, else 0). The record is the same for any number.",
      min: 0,
    }),
    ledger: Flags.string({
      description:
        'JSON-RPC URL of an external EVM node; embedded Ganache when absent. The contracts saved by `bench ledger deploy` for that chain are used when there are any, else fresh ones are deployed.',
    }),
    deployment: Flags.string({
      description: 'Deployment file of the --ledger contracts (default ./.bench/ledger-<chainId>.json when it exists).',
      dependsOn: ['ledger'],
    }),
    tsdb: Flags.string({
      description:
        'InfluxDB line-protocol endpoint (InfluxDB, VictoriaMetrics) that receives measurements and events live; an outage spools to the run directory.',
    }),
    'lab-config': Flags.string({
      description:
        'Lab file (YAML: lab { name, address, accreditation, contact }, operator) printed on the certificate.',
    }),
    lab: Flags.string({ description: 'Lab name on the certificate (overrides the lab file).' }),
    operator: Flags.string({ description: 'Operator name on the certificate (overrides the lab file).' }),
    case: Flags.string({ description: 'Run only these case ids.', multiple: true }),
    format: Flags.string({
      description: `Report formats: ${REPORT_FORMATS.join(', ')} (pdf: the HTML certificate printed by headless Chromium, written when asked for).`,
      default: DEFAULT_FORMATS.join(','),
    }),
    'runs-dir': runsDirFlag,
    'reports-dir': reportsDirFlag,
  };

  async run(): Promise<CertifyResult | SweepResult> {
    const { flags } = await this.parse(Certify);
    if (flags.seeds !== undefined) return this.sweep(flags);
    const controller = new AbortController();
    const release = onStopSignal((signal) => {
      process.stderr.write(`\nInterrupted (${signal}): finishing the run record (marked INCOMPLETE)…\n`);
      controller.abort();
    });
    try {
      const result = await certify(
        {
          ...this.runOptions(flags, controller.signal),
          seed: flags.seed,
          progress: terminalProgress(!this.jsonEnabled()),
        },
        rigProvider,
      );
      this.say(renderCertifySummary(result));
      process.exitCode = result.exitCode;
      return result;
    } finally {
      release();
    }
  }

  /** What a single run and every run of a seed sweep share: one place, so a flag cannot reach one and not the other. */
  private runOptions(
    flags: Interfaces.InferredFlags<typeof Certify.flags>,
    signal: AbortSignal,
  ): Omit<CertifyOptions, 'seed' | 'progress'> {
    return {
      suite: flags.suite,
      rig: flags.rig,
      meterConfig: flags['meter-config'],
      timeScale: flags['time-scale'],
      workers: flags.workers,
      ledger: flags.ledger,
      deployment: flags.deployment,
      lab: resolveLab({ labConfig: flags['lab-config'], lab: flags.lab, operator: flags.operator }),
      tsdb: flags.tsdb,
      runsDir: flags['runs-dir'],
      reportsDir: flags['reports-dir'],
      formats: parseFormats(flags.format),
      only: flags.case,
      signal,
      argv: this.argv,
    };
  }

  /** --seeds: the sweep lives in engine/sweep.ts; this only wires flags, Ctrl-C, the bar and the summary. */
  private async sweep(flags: Interfaces.InferredFlags<typeof Certify.flags>): Promise<SweepResult> {
    const { parseSeeds, sweep } = await import('../../engine/sweep.js');
    const seeds = parseSeeds(flags.seeds as string);
    const controller = new AbortController();
    const release = onStopSignal((signal) => {
      process.stderr.write(`\nInterrupted (${signal}): stopping every seed's run (records marked INCOMPLETE)…\n`);
      controller.abort();
    });
    try {
      const result = await sweep(
        {
          ...this.runOptions(flags, controller.signal),
          seeds,
          jobs: flags.jobs,
          progress: sweepProgress(!this.jsonEnabled()),
        },
        rigProvider,
      );
      this.say(renderSweepSummary(result));
      process.exitCode = result.exitCode;
      return result;
    } finally {
      release();
    }
  }
}
