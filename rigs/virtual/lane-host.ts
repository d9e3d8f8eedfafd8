/**
 * A worker thread that plays some of a case's lanes (houses): synthesis, meter and store-and-forward run here, and
 * what each lane outputs goes back to the rig on the main thread in lane order, block by block, where it is
 * recorded in exactly the order the single-thread rig records it (lane-workers.ts). A signed record's submission is
 * the one thing that waits for the main thread: the ledger's answer decides what the meter keeps.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SignedBillingRecordJson } from '../../billing/record-json.js';
import type { LedgerForwarder } from '../../meter/billing.js';
import { Lane } from './lane.js';
import type { HostData, HostMessage, LaneItem, MainMessage } from './lane-workers.js';

const port = parentPort;
if (!port) throw new Error('lane-host runs as a worker thread');
const { setups, lanes: laneIndexes, windowTurns, flushTurns } = workerData as HostData;

const items: LaneItem[][] = setups.map(() => []);
let credit = windowTurns;
let wakeCredit: (() => void) | undefined;
const replies = new Map<number, { resolve: (r: ReplyResult) => void; reject: (e: Error) => void }>();
let nextSubmit = 0;
type ReplyResult = Awaited<ReturnType<LedgerForwarder['submit']>>;

const post = (m: HostMessage) => port.postMessage(m);
const flush = () => {
  const batch = items
    .map((list, k) => ({ lane: laneIndexes[k]!, items: list.splice(0) }))
    .filter((b) => b.items.length);
  if (batch.length) post({ type: 'items', batch });
};

port.on('message', (m: MainMessage) => {
  if (m.type === 'credit') {
    credit += m.turns;
    wakeCredit?.();
  } else if (m.type === 'reply') {
    const waiting = replies.get(m.id);
    replies.delete(m.id);
    if (m.error !== undefined) waiting?.reject(new Error(m.error));
    else waiting?.resolve(m.result as ReplyResult);
  }
});

async function main() {
  const lanes = setups.map(
    (setup, k) =>
      new Lane(setup, (kind, data) => items[k]!.push(['o', kind, data]), {
        submit: (signed: SignedBillingRecordJson) => {
          const id = nextSubmit++;
          items[k]!.push(['s', id, signed]);
          flush();
          return new Promise<ReplyResult>((resolve, reject) => replies.set(id, { resolve, reject }));
        },
      }),
  );
  try {
    let turns = 0;
    while (lanes.some((l) => !l.finished)) {
      // Never more than the window ahead of what the main thread has recorded: memory stays bounded.
      if (credit <= 0) flush();
      while (credit <= 0)
        await new Promise<void>((r) => {
          wakeCredit = r;
        });
      for (const [k, lane] of lanes.entries()) {
        if (lane.finished) continue;
        const seconds = await lane.step();
        items[k]!.push(lane.finished ? ['d'] : ['b', seconds]);
      }
      credit--;
      if (++turns % flushTurns === 0) flush();
    }
    flush();
  } finally {
    for (const lane of lanes) lane.close();
  }
}

main().then(
  () => post({ type: 'end' }),
  (e: Error) => post({ type: 'error', message: e.message, stack: e.stack }),
);
