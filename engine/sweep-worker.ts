/**
 * One process of a seed sweep (engine/sweep.ts forks it): runs the seeds its parent sends, one at a time, each a
 * whole `certify` with its own run record, ledger and reports, and reports back over IPC. It never writes to
 * stdout, which belongs to the parent's summary or JSON.
 */

import { ExitCode, isBenchError } from '../core/errors.js';
import { certify } from './certify.js';
import { rigProvider } from './rig-provider.js';
import type { SweepJob, SweepMessage } from './sweep.js';

const controller = new AbortController();
// Ctrl-C on a terminal reaches every process of the group, and the parent forwards it otherwise: the run in hand
// closes its record (ABORTED, so it reads INCOMPLETE) and reports, as a single certify does.
process.on('SIGINT', () => controller.abort());

let busy = false;
let parentGone = false;
const send = (m: SweepMessage) => {
  if (process.connected) process.send?.(m);
};

process.on('message', async (job: SweepJob) => {
  busy = true;
  try {
    const result = await certify(
      {
        ...job.options,
        seed: job.seed,
        signal: controller.signal,
        progress: {
          caseStarted() {},
          caseProgress() {},
          caseFinished: (caseId, verdict) => send({ type: 'case', seed: job.seed, caseId, verdict }),
          stop() {},
        },
      },
      rigProvider,
    );
    send({ type: 'done', seed: job.seed, result });
  } catch (e) {
    const err = e as Error;
    send({
      type: 'error',
      seed: job.seed,
      message: err.message,
      exitCode: isBenchError(e) ? e.exitCode : ExitCode.RIG,
    });
  } finally {
    busy = false;
    if (parentGone) process.exit(0);
  }
});

// The parent disconnects when no seeds are left (or it died): leave at once, or after the run in hand.
process.on('disconnect', () => {
  parentGone = true;
  if (!busy) process.exit(0);
  controller.abort();
});
