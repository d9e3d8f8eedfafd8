import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { endpointOf } from '../../../rigs/endpoints.js';
import { INSTRUMENTS, instrumentEntryFor, runEntryFor } from '../../../rigs/instrument-registry.js';
import { loadRigFile } from '../../../rigs/rig-file.js';
import { type InstrumentConfig, instrumentSchema } from '../../../rigs/schema.js';

const ROOT = join(import.meta.dirname, '../../..');

const inst = (fields: Record<string, unknown>): InstrumentConfig =>
  instrumentSchema.parse({ id: 'x', transport: { kind: 'serial', path: '/dev/null' }, ...fields });

describe('instrument registry (no I/O: factories only)', () => {
  it('every dialect has one entry', () => {
    const dialects = INSTRUMENTS.flatMap((e) => e.dialects);
    expect(new Set(dialects).size).toBe(dialects.length);
    expect(dialects).toEqual(
      expect.arrayContaining(['chroma-63800', 'chroma-63804x3', 'sdm630', 'iec62056-21', 'jsonl', 'firmata']),
    );
  });

  it('every instrument of the built-in serial rig opens through an entry, in the driver kind the rig uses', () => {
    const rig = loadRigFile(join(ROOT, 'rigs/builtin/sim-serial.yaml'));
    const kinds = rig.instruments.map((i) => runEntryFor(i).driver(i, endpointOf(i)));
    expect(kinds.map((h) => h.kind)).toEqual(['load', 'modbus-meter', 'modbus-meter', 'board', 'stream']);
    const board = kinds[3];
    expect(board?.kind === 'board' && board.cpPins).toEqual({ b: 8, c: 9 });
    const stream = kinds[4];
    expect(stream?.kind === 'stream' && stream.bills).toBe(true);
  });

  it('an optical port or a Firmata board over TCP has no driver (rig check: no-driver)', () => {
    const tcp = { kind: 'tcp', host: 'localhost', port: 5025 };
    expect(instrumentEntryFor(inst({ role: 'dut', dialect: 'iec62056-21', transport: tcp }))).toBeUndefined();
    expect(instrumentEntryFor(inst({ role: 'io', dialect: 'firmata', transport: tcp }))).toBeUndefined();
    expect(instrumentEntryFor(inst({ role: 'load', dialect: 'chroma-63800', transport: tcp }))).toBeDefined();
    expect(instrumentEntryFor(inst({ role: 'load', dialect: 'no-such-load' }))).toBeUndefined();
  });

  it('a run refuses a dialect in a role its driver does not play (DIALECT, naming the instrument)', () => {
    expect(() => runEntryFor(inst({ role: 'dut', dialect: 'chroma-63800' }))).toThrow(
      expect.objectContaining({ code: 'DIALECT', device: 'x', message: expect.stringMatching(/in role dut/) }),
    );
    expect(() => runEntryFor(inst({ role: 'load', dialect: 'jsonl' }))).toThrow(
      expect.objectContaining({ code: 'DIALECT' }),
    );
    // rig check still probes it: the entry exists for the dialect.
    expect(instrumentEntryFor(inst({ role: 'load', dialect: 'jsonl' }))?.dialects).toEqual(['jsonl']);
  });

  it('an EV pilot without its relay pins is a CONFIG error before the board is opened', () => {
    const board = inst({ role: 'io', dialect: 'firmata', capabilities: ['ev.cp'] });
    expect(() => runEntryFor(board).driver(board, endpointOf(board))).toThrow(
      expect.objectContaining({ code: 'CONFIG', device: 'x' }),
    );
  });

  it('a sim transport has no hardware endpoint', () => {
    expect(() => endpointOf(inst({ role: 'dut', dialect: 'sdm630', transport: { kind: 'sim' } }))).toThrow(
      expect.objectContaining({ code: 'TRANSPORT' }),
    );
  });
});
