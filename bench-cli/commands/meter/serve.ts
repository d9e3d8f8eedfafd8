import { Flags } from '@oclif/core';
import { InputError } from '../../../core/errors.js';
import { serveMeter } from '../../../engine/meter-serve.js';
import { loadMeterConfigFile } from '../../../meter/config.js';
import { loadScenarioFile } from '../../../profiles/scenario.js';
import { BenchCommand } from '../../base-command.js';
import { seedFlag } from '../../flags.js';

const hostPort = (s: string, flag: string) => {
  const m = /^([\w.-]+):(\d{1,5})$/.exec(s);
  if (!m)
    throw new InputError(`--${flag} must be host:port, not ${s}`, [
      { file: `--${flag}`, message: 'expected host:port' },
    ]);
  return { host: m[1]!, port: Number(m[2]) };
};

export default class MeterServe extends BenchCommand {
  static override summary = 'Run the reference meter on a scenario in real time and serve its Modbus and JSONL faces.';
  static override flags = {
    scenario: Flags.string({ required: true, description: 'Scenario YAML the meter measures.' }),
    meter: Flags.string({ description: 'House (meter) id in the scenario; default the first.' }),
    config: Flags.string({ description: 'Meter configuration YAML (fault knobs, intervals).' }),
    seed: seedFlag('Seed for random loads of the scenario.'),
    'modbus-tcp': Flags.string({ description: 'Serve Modbus TCP on host:port.' }),
    'modbus-rtu': Flags.string({ description: 'Serve Modbus RTU on this serial port.' }),
    stream: Flags.string({ description: 'Write the JSONL event/billing stream to this serial port.' }),
    optical: Flags.string({ description: 'Serve the IEC 62056-21 mode C optical readout on this serial port.' }),
    baud: Flags.integer({ default: 9600, description: 'Baud rate of the serial faces.' }),
    speed: Flags.integer({ default: 1, min: 1, max: 10_000, description: 'Times faster than real time.' }),
  };

  async run(): Promise<{ seconds: number; events: number; billingRecords: number }> {
    const { flags } = await this.parse(MeterServe);
    const faces = ['modbus-tcp', 'modbus-rtu', 'stream', 'optical'] as const;
    if (!faces.some((f) => flags[f]))
      throw new InputError(
        'meter serve: no face to serve',
        faces.map((f) => ({ file: `--${f}`, message: 'not given' })),
        ['Name at least one face, e.g. `--modbus-tcp 127.0.0.1:5020` or `--stream /dev/ttyX`.'],
      );
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    const result = await serveMeter({
      scenario: loadScenarioFile(flags.scenario),
      meterId: flags.meter ?? '',
      config: flags.config ? loadMeterConfigFile(flags.config) : {},
      seed: flags.seed,
      modbusTcp: flags['modbus-tcp'] ? hostPort(flags['modbus-tcp'], 'modbus-tcp') : undefined,
      modbusRtu: flags['modbus-rtu'] ? { path: flags['modbus-rtu'], baudRate: flags.baud } : undefined,
      stream: flags.stream ? { path: flags.stream, baudRate: flags.baud } : undefined,
      optical: flags.optical ? { path: flags.optical } : undefined,
      speed: flags.speed,
      signal: controller.signal,
      onReady: (faces) => process.stderr.write(`serving: ${faces.join(', ') || 'no faces'} (Ctrl-C to stop)\n`),
    });
    this.say(
      `served ${result.seconds.toFixed(0)} s of scenario: ${result.events} events, ${result.billingRecords} billing records`,
    );
    return result;
  }
}
