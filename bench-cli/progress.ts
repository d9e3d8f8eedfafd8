import cliProgress from 'cli-progress';
import type { ProgressSink } from '../engine/executor.js';

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
