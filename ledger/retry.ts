/**
 * Retrying reads over a flaky transport (a node restarting, a pooled socket closed): used by the chain connection,
 * the transaction sender and the log scanner alike, so it sits below all of them.
 */
import createDebug from 'debug';

const debug = createDebug('bench:ledger:tx');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A connection-level failure (worth a retry), as opposed to an answer from the node. */
export function isTransportError(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  const msg = String((e as Error)?.message ?? e);
  return (
    code === 'CHAIN_UNREACHABLE' ||
    /ECONNREFUSED|ECONNRESET|EPIPE|socket hang up|fetch failed|timeout|network|ETIMEDOUT|connection/i.test(msg)
  );
}

/** Runs `fn`, retrying it on transport errors up to `retries` times with a growing delay. */
export async function withTransportRetry<T>(fn: () => Promise<T>, retries = 8, delayMs = 250): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransportError(e) || attempt >= retries) throw e;
      debug('read failed (%s), retrying', (e as Error).message);
      await sleep(delayMs * (attempt + 1));
    }
  }
}
