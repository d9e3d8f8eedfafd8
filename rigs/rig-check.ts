import { existsSync } from 'node:fs';
import { RigError } from '../core/errors.js';
import { endpointOf } from './endpoints.js';
import { instrumentEntryFor, type ProbeResult } from './instrument-registry.js';
import type { InstrumentConfig, RigConfig } from './schema.js';

export interface InstrumentCheck {
  id: string;
  role: InstrumentConfig['role'];
  dialect: string;
  transport: string;
  capabilities: string[];
  /** `unidentified`: a JSONL stream that did not answer identify (a plain event stream need not). */
  status: ProbeResult['status'] | 'in-process' | 'no-driver' | 'failed';
  identity?: string;
  latency?: ProbeResult['latency'];
  /** Why the instrument failed the check (status `failed`), naming it; `--json` shows its toJSON(). */
  error?: RigError;
}

/** Talks to one instrument through its registry entry; errors are RigErrors naming it. */
async function probe(
  inst: InstrumentConfig,
  pings: number,
): Promise<Pick<InstrumentCheck, 'status' | 'identity' | 'latency'>> {
  const entry = instrumentEntryFor(inst);
  if (!entry) return { status: 'no-driver' };
  return entry.probe(inst, endpointOf(inst), pings);
}

/**
 * Pings every instrument of a rig: identity, declared capabilities and round-trip latency over `pings` queries.
 * Every instrument is checked even when one fails (a bench with two loose cables shows both); `checkFailure`
 * turns the failures into the error the command exits with.
 */
export async function checkRig(rig: RigConfig, pings = 20): Promise<InstrumentCheck[]> {
  const out: InstrumentCheck[] = [];
  for (const inst of rig.instruments) {
    const base = {
      id: inst.id,
      role: inst.role,
      dialect: inst.dialect,
      capabilities: inst.capabilities,
      transport:
        inst.transport.kind === 'serial'
          ? `serial:${inst.transport.path}@${inst.transport.baudRate}`
          : inst.transport.kind === 'tcp'
            ? `tcp:${inst.transport.host}:${inst.transport.port}`
            : inst.transport.kind === 'listen'
              ? `listen:${inst.transport.host}:${inst.transport.port}`
              : 'sim',
    };
    if (inst.transport.kind === 'sim') {
      out.push({ ...base, status: 'in-process' });
      continue;
    }
    if (inst.transport.kind === 'serial' && !existsSync(inst.transport.path)) {
      // Nothing plugged in (or served) there: say so once, instead of the driver's raw ENOENT.
      const error = new RigError(`no device at ${inst.transport.path}`, { device: inst.id, code: 'NO_DEVICE' });
      out.push({ ...base, status: 'failed', error });
      continue;
    }
    try {
      out.push({ ...base, ...(await probe(inst, pings)) });
    } catch (e) {
      const err =
        e instanceof RigError && e.device === inst.id
          ? e
          : new RigError((e as Error).message, { device: inst.id, code: (e as RigError).code ?? 'RIG', cause: e });
      out.push({ ...base, status: 'failed', error: err });
    }
  }
  return out;
}

/**
 * The error a rig check ends with (exit 3), or undefined when every instrument answered: the instrument's own
 * RigError when one failed, else one naming each failed instrument.
 */
export function checkFailure(checks: readonly InstrumentCheck[], rigRef?: string): RigError | undefined {
  const failed = checks.flatMap((c) => (c.error ? [c.error] : []));
  // A device that says itself what to do (a station that never called) keeps its own advice.
  const missing = failed.filter((e) => e.code === 'NO_DEVICE' && e.actions.length === 0);
  // Missing device paths are what an emulated bench looks like before `bench sim up`: say what to run.
  const actions = missing.length
    ? [
        `Emulated rig? Start its emulators first, in another terminal: bench sim up${rigRef ? ` --rig ${rigRef}` : ''} (with --dir, check the rig.yaml it writes there).`,
        'Real instruments? Check that they are plugged in and the paths in the rig file.',
      ]
    : [];
  if (failed.length === 0) return undefined;
  if (failed.length === 1 && !missing.length) return failed[0];
  if (failed.length === 1) {
    const only = failed[0]!;
    return new RigError(only.message.slice(`${only.device}: `.length), {
      device: only.device,
      code: only.code,
      actions,
    });
  }
  const message =
    missing.length === failed.length
      ? `${failed.length} instruments have no device: ${missing.map((e) => e.message).join('; ')}`
      : `${failed.length} instruments failed the check: ${failed.map((e) => `${e.message} [${e.code}]`).join('; ')}`;
  return new RigError(message, {
    device: failed.map((e) => e.device).join(', '),
    code: missing.length === failed.length ? 'NO_DEVICE' : 'CHECK',
    actions,
  });
}
