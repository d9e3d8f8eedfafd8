import cliProgress from 'cli-progress';
import type { ProgressSink } from '../engine/executor.js';
import type { SweepProgress } from '../engine/sweep.js';

/**
 * A progress bar per case on a TTY (cli-progress, on stderr so stdout stays clean); no bars at all under --json
 * or when stderr is not a terminal.
 */
export function terminalProgress(enabled: boolean): ProgressSink | undefined {
  if (!enabled || !process.stderr.isTTY) return undefined;
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      clearOnComplete: false,
      hideCursor: true,
      format: ' {caseId} |{bar}| {percentage}% {label}',
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    caseStarted(caseId) {
      bars.set(caseId, multi.create(1, 0, { caseId: caseId.padEnd(22), label: '' }));
    },
    caseProgress(caseId, done, total, label) {
      const bar = bars.get(caseId);
      if (!bar) return;
      bar.setTotal(Math.max(1, total));
      bar.update(done, { label: label ?? '' });
    },
    caseFinished(caseId, verdict) {
      const bar = bars.get(caseId);
      if (!bar) return;
      bar.update(bar.getTotal(), { label: verdict });
      bar.stop();
    },
    stop() {
      multi.stop();
    },
  };
}

/**
 * One bar for a seed sweep on a TTY (stderr): cases done over all seeds, with the seeds finished and failed so far;
 * nothing under --json or off a terminal.
 */
export function sweepProgress(enabled: boolean): SweepProgress | undefined {
  if (!enabled || !process.stderr.isTTY) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      clearOnComplete: false,
      hideCursor: true,
      format:
        ' seeds {seedsDone}/{seeds} |{bar}| {percentage}% cases, {failed} failed, {jobs} jobs, eta {eta_formatted}',
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let failed = 0;
  return {
    start(seeds, casesPerSeed, jobs) {
      bar.start(Math.max(1, seeds * casesPerSeed), 0, { seeds, seedsDone: 0, failed, jobs });
    },
    caseFinished() {
      bar.increment();
    },
    seedFinished(_seed, outcome, done) {
      if (outcome !== 'PASS' && outcome !== 'MARGINAL') failed++;
      bar.update({ seedsDone: done, failed });
    },
    stop() {
      bar.stop();
    },
  };
}
