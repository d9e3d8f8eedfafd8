/**
 * Stops a run politely on Ctrl-C (SIGINT) and on SIGTERM (what a CI runner's timeout or `kill` sends): the handler
 * aborts the run so its record closes ABORTED, the reports say INCOMPLETE, the rig's children (socat) are stopped
 * and the exit code is non-zero. Without a SIGTERM handler Node ends at once, orphaning sim-serial's socat. A
 * second signal does not wait for the record to close: exit 130, as a shell expects after Ctrl-C.
 */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export function onStopSignal(stop: (signal: NodeJS.Signals) => void): () => void {
  let received = 0;
  const handler = (signal: NodeJS.Signals) => {
    if (++received > 1) process.exit(130);
    stop(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of STOP_SIGNALS) process.removeListener(s, handler);
  };
}
