import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { billingDomain, pseudonym } from '../../../billing/billing-record.js';
import type { SignedBillingRecordJson } from '../../../billing/record-json.js';
import { defaultTariff } from '../../../billing/tariff.js';
import { MeterBilling, TariffBands } from '../../../meter/billing.js';
import { MeterClock } from '../../../meter/clock.js';
import { type MeterConfigInput, parseMeterConfig } from '../../../meter/config.js';
import { meterOutputs } from '../../../meter/factory.js';
import { MeterFaults } from '../../../meter/faults.js';
import { type MeterIdentity, meterKey } from '../../../meter/identity.js';
import { BillingStore } from '../../../meter/store.js';
import type { ActiveLoad } from '../../../meter/tracked-load.js';

const SIX_AM = 6 * 3600;

function billing(config: MeterConfigInput = {}, lastSeq?: bigint) {
  const parsed = parseMeterConfig(config);
  const id: MeterIdentity = {
    meterId: 'm1',
    hostContractId: 'C-HOST',
    epochS: SIX_AM,
    key: meterKey(1, 'm1'),
    domain: billingDomain(1337n, '0x0000000000000000000000000000000000000000'),
    tariff: defaultTariff(),
    tariffVersion: 3,
    seed: 1,
    lastSeq,
  };
  const logs: string[] = [];
  const log = (_t: number, _level: string, code: string) => logs.push(code);
  const sent: SignedBillingRecordJson[] = [];
  const store = new BillingStore(join(mkdtempSync(join(tmpdir(), 'bench-billing-')), 'm1.jsonl'));
  const b = new MeterBilling(
    parsed,
    id,
    new MeterFaults(parsed, 1, log),
    new MeterClock(0, 0),
    store,
    meterOutputs({ billing: (x) => sent.push(x.signed) }),
    log,
  );
  return { b, sent, logs, store };
}

/** An EV load whose session drew 1.5 kWh in band 0 and 0.5 kWh in band 1 from t = 100 to 7300. */
function ev(attributed: boolean): ActiveLoad {
  return {
    cls: 'ev',
    p: 0,
    q: 0,
    r3: 0,
    r5: 0,
    r7: 0,
    wh: 0,
    session: {
      start: 100,
      startMeter: 100,
      payerContract: attributed ? 'C-OWNER' : undefined,
      attributed,
      importWh: 2000,
      exportWh: 0,
      bandWh: [1500, 500, 0],
      unplugged: false,
    },
  };
}

describe('TariffBands', () => {
  it('the band by the meter clock, looked up once per hour', () => {
    const clock = new MeterClock(0, 0);
    const bands = new TariffBands(defaultTariff(), SIX_AM, clock);
    expect(bands.at(0)).toBe(0);
    expect(bands.hourLeft(600)).toBe(3000);
    expect(bands.at(3600)).toBe(1);
    expect(bands.zero()).toEqual([0, 0, 0]);
    // A clock 10 minutes fast bills 06:55 true time in the 07:00 band.
    const fast = new MeterClock(0, 0);
    fast.set(0, 600);
    expect(new TariffBands(defaultTariff(), SIX_AM, fast).at(3300)).toBe(1);
  });
});

describe('MeterBilling', () => {
  it('signs one record per ended session: next sequence, pseudonyms, energy per band, cost by the tariff', () => {
    const { b, sent, store } = billing({}, 41n);
    b.bill(ev(true), 7300, 7301);
    expect(sent).toHaveLength(1);
    const r = sent[0]!.record;
    expect(r.seq).toBe('42');
    expect(b.lastSeq).toBe(42n);
    expect(r.meter).toBe(b.address);
    expect(r.payer).toBe(pseudonym('C-OWNER', 'bench-pseudonym-salt-v1'));
    expect(r.host).toBe(pseudonym('C-HOST', 'bench-pseudonym-salt-v1'));
    expect(r.start).toBe(String(SIX_AM + 100));
    expect(r.end).toBe(String(SIX_AM + 7300));
    expect(r.bandMilliWh).toEqual(['1500000', '500000', '0']);
    expect(r.importMilliWh).toBe('2000000');
    expect(r.tariffVersion).toBe('3');
    expect(r.attributed).toBe(true);
    expect(b.backlog).toBe(1);
    store.close();
  });

  it('unattributed: billed to the host under bill-host, not at all under no-bill', () => {
    const host = billing();
    host.b.bill(ev(false), 7300, 7301);
    expect(host.sent[0]!.record.payer).toBe(pseudonym('C-HOST', 'bench-pseudonym-salt-v1'));
    expect(host.sent[0]!.record.attributed).toBe(false);
    const none = billing({ unattributedPolicy: 'no-bill' });
    none.b.bill(ev(false), 7300, 7301);
    expect(none.sent).toEqual([]);
    expect(none.logs).toEqual(['unattributed-not-billed']);
  });

  it('duplicate-submission fault: two records under two sequence numbers', () => {
    const { b, sent } = billing({ faults: { duplicateSubmission: true } });
    b.bill(ev(true), 7300, 7301);
    expect(sent.map((s) => s.record.seq)).toEqual(['1', '2']);
  });

  it('store-and-forward: held through an outage, then forwarded in order once; a refusal is logged and acked', async () => {
    const { b, logs } = billing({ ledgerOutage: { fromS: 0, toS: 1000 } });
    b.bill(ev(true), 7300, 7301);
    b.bill(ev(true), 7400, 7401);
    const got: string[] = [];
    const ledger = {
      submit: async (s: SignedBillingRecordJson) => {
        got.push(s.record.seq);
        return s.record.seq === '2' ? { status: 'rejected' as const, reason: 'nope' } : { status: 'landed' as const };
      },
    };
    await b.forward(ledger, 500);
    await b.forward(ledger, 600);
    expect(got).toEqual([]);
    expect(b.backlog).toBe(2);
    expect(logs).toEqual(['ledger-unreachable']);
    await b.forward(ledger, 1000);
    expect(got).toEqual(['1', '2']);
    expect(b.backlog).toBe(0);
    expect(logs).toEqual(['ledger-unreachable', 'ledger-rejected', 'ledger-restored']);
  });

  it('a ledger that cannot be reached keeps the record for the next try', async () => {
    const { b, logs } = billing();
    b.bill(ev(true), 7300, 7301);
    await b.forward({ submit: () => Promise.reject(new Error('ECONNREFUSED')) }, 10);
    expect(b.backlog).toBe(1);
    expect(logs).toEqual(['ledger-unreachable']);
    await b.forward({ submit: async () => ({ status: 'landed' }) }, 20);
    expect(b.backlog).toBe(0);
    expect(logs).toEqual(['ledger-unreachable', 'ledger-restored']);
  });
});
