import { describe, expect, it } from 'vitest';
import { decodeSignedData, meterValueOf, samplesFrom16, samplesFrom201 } from '../../../protocols/ocpp-meter-values.js';

const OCMF = 'OCMF|{"FV":"1.0","PG":"T1"}|{"SD":"3045"}';
const KEY = 'oca:base16:asn1:3059301306072a8648ce3d0201';

describe('OCPP meter values', () => {
  it('reads 1.6 sampled values: strings, units, the energy register by default, signed data in both forms', () => {
    const [s] = samplesFrom16([
      {
        timestamp: '2026-11-24T09:00:00Z',
        sampledValue: [
          { value: '12.5', unit: 'kWh', context: 'Transaction.Begin' },
          { value: '7.4', measurand: 'Power.Active.Import', unit: 'kW' },
          { value: OCMF, format: 'SignedData' },
          {
            value: JSON.stringify({
              signedMeterData: Buffer.from(OCMF).toString('base64'),
              encodingMethod: 'OCMF',
              publicKey: Buffer.from(KEY).toString('base64'),
            }),
            format: 'SignedData',
          },
          { value: 'n/a', measurand: 'Voltage' },
        ],
      },
    ]);
    expect(s).toEqual({
      t: Date.UTC(2026, 10, 24, 9) / 1000,
      energyWh: 12_500,
      powerW: 7400,
      context: 'Transaction.Begin',
      signed: [
        { data: OCMF, encoding: 'OCMF' },
        { data: OCMF, encoding: 'OCMF', publicKey: KEY },
      ],
    });
  });

  it('reads 2.0.1 values with unit multipliers and the signed meter value', () => {
    const [s] = samplesFrom201([
      {
        timestamp: '2026-11-24T09:00:00Z',
        sampledValue: [
          {
            value: 1.25,
            unitOfMeasure: { unit: 'kWh', multiplier: 1 },
            signedMeterValue: {
              signedMeterData: Buffer.from(OCMF).toString('base64'),
              signingMethod: '',
              encodingMethod: 'OCMF',
              publicKey: KEY,
            },
          },
          { value: 740, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W', multiplier: 1 } },
        ],
      },
    ]);
    expect(s).toMatchObject({
      energyWh: 12_500,
      powerW: 7400,
      signed: [{ data: OCMF, encoding: 'OCMF', publicKey: KEY }],
    });
  });

  it('writes what it reads, in both versions', () => {
    const value = {
      t: 1_764_000_000,
      energyWh: 12_500,
      powerW: 7400,
      context: 'Transaction.End',
      ocmf: OCMF,
      publicKey: KEY,
    };
    expect(samplesFrom16([meterValueOf('ocpp1.6', value) as never])[0]).toMatchObject({
      energyWh: 12_500,
      powerW: 7400,
      signed: [{ data: OCMF, publicKey: KEY }],
    });
    expect(samplesFrom201([meterValueOf('ocpp2.0.1', value) as never])[0]).toMatchObject({
      energyWh: 12_500,
      powerW: 7400,
      signed: [{ data: OCMF, publicKey: KEY }],
    });
    expect(decodeSignedData('not ocmf')).toBe('not ocmf');
  });
});
