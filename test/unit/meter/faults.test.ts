import { describe, expect, it } from 'vitest';
import { billingDomain } from '../../../billing/billing-record.js';
import { defaultTariff } from '../../../billing/tariff.js';
import { type MeterConfigInput, parseMeterConfig } from '../../../meter/config.js';
import { flatPeakTariff, MeterFaults } from '../../../meter/faults.js';
import { type MeterIdentity, meterKey } from '../../../meter/identity.js';

function faults(config: MeterConfigInput = {}) {
  const logs: string[] = [];
  const f = new MeterFaults(parseMeterConfig(config), 1, (t, level, code) => logs.push(`${t} ${level} ${code}`));
  return { f, logs };
}

const identity: MeterIdentity = {
  meterId: 'm1',
  hostContractId: 'C-M1',
  epochS: 0,
  key: meterKey(1, 'm1'),
  domain: billingDomain(1337n, '0x0000000000000000000000000000000000000000'),
  tariff: defaultTariff(),
  tariffVersion: 1,
  seed: 1,
};

describe('MeterFaults', () => {
  it('all off by default: gain 1, no latency, one copy, the own key and tariff, nothing missed', () => {
    const { f } = faults();
    expect(f.gain).toBe(1);
    expect(f.latencyS).toBe(0);
    expect(f.copies).toBe(1);
    expect(f.wrongPayer).toBe(false);
    expect(f.signingKey(identity)).toBe(identity.key);
    const t = defaultTariff();
    expect(f.pricedBy(t)).toBe(t);
    expect(Array.from({ length: 50 }, () => f.missesEvent()).some(Boolean)).toBe(false);
  });

  it('each knob: gain, duplicate, wrong payer, rogue key, missed events at rate 1', () => {
    const { f } = faults({
      faults: { gainErrorPct: 3, duplicateSubmission: true, wrongPayer: true, badSignature: true, missedEventRate: 1 },
    });
    expect(f.gain).toBeCloseTo(1.03, 12);
    expect(f.copies).toBe(2);
    expect(f.wrongPayer).toBe(true);
    expect(f.signingKey(identity).address).not.toBe(identity.key.address);
    expect(f.missesEvent()).toBe(true);
  });

  it('added latency holds what is sent until the meter reaches its time', () => {
    const { f } = faults({ faults: { addedLatencyMs: 2000 } });
    expect(f.latencyS).toBe(2);
    const sent: number[] = [];
    f.emit(12, () => sent.push(12));
    f.emit(13, () => sent.push(13));
    f.flush(11.99);
    expect(sent).toEqual([]);
    f.flush(12);
    expect(sent).toEqual([12]);
    f.flush(Number.POSITIVE_INFINITY);
    expect(sent).toEqual([12, 13]);
  });

  it('without latency, sent at once', () => {
    const { f } = faults();
    const sent: number[] = [];
    f.emit(5, () => sent.push(5));
    expect(sent).toEqual([5]);
  });

  it('the dead current channel: 5 s from its instant, logged once when it starts and once when it ends', () => {
    const { f, logs } = faults({ injectMeasurementFaultAtS: 10 });
    expect(f.channelDead(9.98, 0.02)).toBe(false);
    expect(f.channelDead(10, 0.02)).toBe(true);
    expect(f.channelDead(12, 0.02)).toBe(true);
    expect(f.channelDead(14.98, 0.02)).toBe(true);
    expect(logs).toEqual(['10 error measurement-fault']);
    expect(f.channelDead(15, 0.02)).toBe(false);
    expect(f.channelDead(15.02, 0.02)).toBe(false);
    expect(logs).toEqual(['10 error measurement-fault', '15 info measurement-restored']);
  });

  it('wrong tariff: every band at the highest price, no EV incentive', () => {
    const t = { ...defaultTariff(), bandPrices: [1n, 7n, 3n] };
    const flat = flatPeakTariff(t);
    expect(flat.bandPrices).toEqual([7n, 7n, 7n]);
    expect(flat.evIncentive).toBe(0n);
    expect(flat.schedule).toBe(t.schedule);
    const { f } = faults({ faults: { wrongTariff: true } });
    expect(f.pricedBy(t).bandPrices).toEqual([7n, 7n, 7n]);
  });
});
