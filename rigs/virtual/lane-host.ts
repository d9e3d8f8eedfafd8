/**
 * A worker thread that plays some of a case's lanes (houses): synthesis, meter and store-and-forward run here, and
 * what each lane outputs goes back to the rig on the main thread in lane order, block by block, where it is
 * recorded in exactly the order the single-thread rig records it (lane-workers.ts). A signed record's submission is
 * the one thing that waits for the main thread: the ledger's answer decides what the meter keeps. The thread lives
 * for the whole run and plays one case at a time, so a suite of short cases pays its start-up once.
 */
import { parentPort } from 'node:worker_threads';
import type { SignedBillingRecordJson } from '../../billing/record-json.js';
import type { LedgerForwarder } from '../../meter/billing.js';
import { Lane } from './lane.js';
import type { CaseJob, HostMessage, LaneItem, MainMessage } from './lane-workers.js';

const port = parentPort;
if (!port) throw new Error('lane-host runs as a worker thread');

type ReplyResult = Awaited<ReturnType<LedgerForwarder['submit']>>;

/** The case being played: its lanes' unsent outputs, the credit of turns it may still run ahead, waiting replies. */
let current:
  | {
      items: LaneItem[][];
      credit: number;
      wakeCredit?: () => void;
      replies: Map<number, { resolve: (r: ReplyResult) => void; reject: (e: Error) => void }>;
      nextSubmit: number;
    }
  | undefined;

const post = (m: HostMessage) => port.postMessage(m);

port.on('message', (m: MainMessage) => {
  if (m.type === 'case') {
    playCase(m.job).then(
      () => post({ type: 'end' }),
      (e: Error) => post({ type: 'error', message: e.message, stack: e.stack }),
    );
  } else if (m.type === 'credit' && current) {
    current.credit += m.turns;
    current.wakeCredit?.();
  } else if (m.type === 'reply' && current) {
    const waiting = current.replies.get(m.id);
    current.replies.delete(m.id);
    if (m.error !== undefined) waiting?.reject(new Error(m.error));
    else waiting?.resolve(m.result as ReplyResult);
  }
});

async function playCase(job: CaseJob): Promise<void> {
  const c: NonNullable<typeof current> = {
    items: job.setups.map((): LaneItem[] => []),
    credit: job.windowTurns,
    replies: new Map(),
    nextSubmit: 0,
  };
  current = c;
  const flush = () => {
    const batch = c.items
      .map((list, k) => ({ lane: job.lanes[k]!, items: list.splice(0) }))
      .filter((b) => b.items.length);
    if (batch.length) post({ type: 'items', batch });
  };
  const lanes = job.setups.map(
    (setup, k) =>
      new Lane(setup, (kind, data) => c.items[k]!.push(['o', kind, data]), {
        submit: (signed: SignedBillingRecordJson) => {
          const id = c.nextSubmit++;
          c.items[k]!.push(['s', id, signed]);
          flush();
          return new Promise<ReplyResult>((resolve, reject) => c.replies.set(id, { resolve, reject }));
        },
      }),
  );
  try {
    let turns = 0;
    while (lanes.some((l) => !l.finished)) {
      // Never more than the window ahead of what the main thread has recorded: memory stays bounded.
      if (c.credit <= 0) flush();
      while (c.credit <= 0)
        await new Promise<void>((r) => {
          c.wakeCredit = r;
        });
      for (const [k, lane] of lanes.entries()) {
        if (lane.finished) continue;
        const seconds = await lane.step();
        c.items[k]!.push(lane.finished ? ['d'] : ['b', seconds]);
      }
      c.credit--;
      if (++turns % job.flushTurns === 0) flush();
    }
    flush();
  } finally {
    for (const lane of lanes) lane.close();
    current = undefined;
  }
}
