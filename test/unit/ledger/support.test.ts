import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Interface, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { billingDomain, loadClassId, pseudonym, signBillingRecord } from '../../../billing/billing-record.js';
import { billingRecordToJson, signedBillingRecordToJson } from '../../../billing/record-json.js';
import { defaultTariff } from '../../../billing/tariff.js';
import { loadTariffFile } from '../../../billing/tariff-file.js';
import { FileValidationError, InputError } from '../../../core/errors.js';
import {
  DEPLOYMENT_FORMAT,
  type Deployment,
  decodeRevert,
  loadDeployment,
  saveDeployment,
} from '../../../ledger/contracts.js';
import { redact, registerSecret } from '../../../ledger/secrets.js';
import { billingObservations } from '../../../ledger/verify-run.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ledger-unit-'));

describe('secrets', () => {
  it('redacts registered keys and mnemonics, with or without 0x, and key-like hex after key words', () => {
    const key = `0x${'ab'.repeat(32)}`;
    registerSecret(key);
    registerSecret('zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong');
    expect(redact(`bad key ${key} and ${key.slice(2)}`)).not.toContain('abab');
    expect(redact('phrase: zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong')).toBe('phrase: [redacted]');
    expect(redact(`private key 0x${'cd'.repeat(32)}`)).toBe('private key [redacted]');
    expect(redact(`tx 0x${'ef'.repeat(32)}`)).toBe(`tx 0x${'ef'.repeat(32)}`);
  });
});

describe('decodeRevert', () => {
  it("decodes the ledger's custom errors with argument names", () => {
    const iface = new Interface(['error SequenceMismatch(address meter, uint64 expected, uint64 seq)']);
    const data = iface.encodeErrorResult('SequenceMismatch', ['0x5FbDB2315678afecb367f032d93F642f64180aa3', 3, 5]);
    const d = decodeRevert(data)!;
    expect(d.name).toBe('SequenceMismatch');
    expect(d.args).toEqual({ meter: '0x5FbDB2315678afecb367f032d93F642f64180aa3', expected: '3', seq: '5' });
    expect(d.text).toBe('SequenceMismatch(meter=0x5FbDB2315678afecb367f032d93F642f64180aa3, expected=3, seq=5)');
  });

  it("decodes OpenZeppelin's Ownable error, Error(string), and unknown data", () => {
    const own = new Interface(['error OwnableUnauthorizedAccount(address account)']);
    expect(
      decodeRevert(own.encodeErrorResult('OwnableUnauthorizedAccount', [Wallet.createRandom().address]))!.name,
    ).toBe('OwnableUnauthorizedAccount');
    const err = new Interface(['error Error(string)']).encodeErrorResult('Error', ['nope']);
    expect(decodeRevert(err)).toMatchObject({ name: 'Error', args: { reason: 'nope' } });
    expect(decodeRevert('0xdeadbeef')!.name).toBe('Unknown');
    expect(decodeRevert('0x')).toBeUndefined();
  });
});

describe('deployment file', () => {
  const d: Deployment = {
    format: DEPLOYMENT_FORMAT,
    chainId: '1337',
    contracts: {
      MeterRegistry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      TariffRegistry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
      BillingLedger: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
      ReportAnchor: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
    },
    owner: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    deployedAtBlock: 1,
    deployedAt: '2026-11-24T00:00:00.000Z',
    sourceHash: 'x',
  };

  it('round-trips and rejects missing or malformed files as input errors', () => {
    const dir = tmp();
    saveDeployment(join(dir, 'sub/ledger-1337.json'), d);
    expect(loadDeployment(join(dir, 'sub/ledger-1337.json'))).toEqual(d);
    expect(() => loadDeployment(join(dir, 'none.json'))).toThrow(InputError);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...d, contracts: { ...d.contracts, BillingLedger: 'x' } }));
    expect(() => loadDeployment(join(dir, 'bad.json'))).toThrow(/contracts.BillingLedger: not an address/);
    writeFileSync(join(dir, 'text.json'), 'nope');
    expect(() => loadDeployment(join(dir, 'text.json'))).toThrow(InputError);
  });
});

describe('tariff files', () => {
  it('loads a YAML tariff and reports file:line:column problems', () => {
    const dir = tmp();
    const rows = defaultTariff()
      .schedule.reduce<number[][]>((acc, b, i) => {
        if (i % 24 === 0) acc.push([]);
        acc.at(-1)!.push(b);
        return acc;
      }, [])
      .map((r) => `  - [${r.join(', ')}]`)
      .join('\n');
    const file = join(dir, 't.yaml');
    writeFileSync(
      file,
      `bandPrices: [150000, 250000, 400000]\nschedule:\n${rows}\nevIncentive: 20000\nmarketPrice: 120000\n`,
    );
    expect(loadTariffFile(file)).toEqual(defaultTariff());
    writeFileSync(join(dir, 'bad.yaml'), `bandPrices: [1]\nschedule: []\ncolour: red\n`);
    try {
      loadTariffFile(join(dir, 'bad.yaml'));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FileValidationError);
      expect((e as Error).message).toMatch(/bad.yaml:3:1 colour/);
    }
  });
});

describe('billingObservations', () => {
  it('reads obs.meter.billing entries (nested and flat) and lists malformed ones', async () => {
    const meter = Wallet.createRandom();
    const domain = billingDomain(1337n, '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0');
    const signed = await signBillingRecord(meter, domain, {
      meter: meter.address,
      seq: 1n,
      payer: pseudonym('p', 's'),
      host: pseudonym('h', 's'),
      start: 1n,
      end: 2n,
      importMilliWh: 3n,
      exportMilliWh: 0n,
      costMicro: 4n,
      tariffVersion: 1n,
      loadClass: loadClassId('ev'),
      attributed: false,
      version: 1,
      bandMilliWh: [],
    });
    const json = signedBillingRecordToJson(signed);
    const out = billingObservations([
      { seq: 1, kind: 'obs.meter.billing', data: { meterId: 'm1', signed: json } },
      {
        seq: 2,
        kind: 'obs.meter.billing',
        data: { meterId: 'm1', signed: { ...billingRecordToJson(signed.record), signature: signed.signature } },
      },
      {
        seq: 3,
        kind: 'obs.meter.billing',
        data: { meterId: 'm1', signed: { record: { seq: 'x' }, signature: '0x00' } },
      },
      { seq: 4, kind: 'obs.meter.event', data: {} },
    ]);
    expect(out.observed).toEqual([signed, signed]);
    expect(out.malformed).toEqual([{ entry: 3, reason: expect.stringMatching(/billing record/) }]);
  });
});
