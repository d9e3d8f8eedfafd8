/**
 * The Eastron SDM630 Modbus map as Eastron publishes it (SDM630 Modbus protocol, input registers "3X" read with
 * function 04, holding registers "4X" read with 03 and written with 16): every parameter is an IEEE-754 float32,
 * big-endian, over two 16-bit registers; parameter n sits at register address 2·(n − 1). The meter's faces answer
 * from this table and the bench's driver reads its quantities by name from it, so an address is written once.
 *
 * Each input parameter names the quantity it carries: `l1.…`/`l2.…`/`l3.…` per phase, `sys.…` for the system
 * totals and averages, `ll12`/`ll23`/`ll31` for line-to-line voltages.
 */
export interface Sdm630Parameter {
  address: number;
  quantity: string;
  name: string;
  unit: string;
}

const phase = (base: number, field: string, name: string, unit: string): Sdm630Parameter[] =>
  [1, 2, 3].map((l) => ({ address: base + 2 * (l - 1), quantity: `l${l}.${field}`, name: `Phase ${l} ${name}`, unit }));

export const SDM630_INPUT: readonly Sdm630Parameter[] = [
  ...phase(0x0000, 'voltage', 'line to neutral volts', 'V'),
  ...phase(0x0006, 'current', 'current', 'A'),
  ...phase(0x000c, 'activePower', 'power', 'W'),
  ...phase(0x0012, 'apparentPower', 'volt amps', 'VA'),
  ...phase(0x0018, 'reactivePower', 'volt amps reactive', 'var'),
  ...phase(0x001e, 'powerFactor', 'power factor', '1'),
  ...phase(0x0024, 'phaseAngle', 'phase angle', '°'),
  { address: 0x002a, quantity: 'sys.voltage', name: 'Average line to neutral volts', unit: 'V' },
  { address: 0x002e, quantity: 'sys.current', name: 'Average line current', unit: 'A' },
  { address: 0x0030, quantity: 'sys.currentSum', name: 'Sum of line currents', unit: 'A' },
  { address: 0x0034, quantity: 'sys.activePower', name: 'Total system power', unit: 'W' },
  { address: 0x0038, quantity: 'sys.apparentPower', name: 'Total system volt amps', unit: 'VA' },
  { address: 0x003c, quantity: 'sys.reactivePower', name: 'Total system VAr', unit: 'var' },
  { address: 0x003e, quantity: 'sys.powerFactor', name: 'Total system power factor', unit: '1' },
  { address: 0x0042, quantity: 'sys.phaseAngle', name: 'Total system phase angle', unit: '°' },
  { address: 0x0046, quantity: 'sys.frequency', name: 'Frequency of supply voltages', unit: 'Hz' },
  { address: 0x0048, quantity: 'sys.importKWh', name: 'Import active energy', unit: 'kWh' },
  { address: 0x004a, quantity: 'sys.exportKWh', name: 'Export active energy', unit: 'kWh' },
  { address: 0x004c, quantity: 'sys.importKVarh', name: 'Import reactive energy', unit: 'kvarh' },
  { address: 0x004e, quantity: 'sys.exportKVarh', name: 'Export reactive energy', unit: 'kvarh' },
  { address: 0x0050, quantity: 'sys.kVAh', name: 'VAh since last reset', unit: 'kVAh' },
  { address: 0x0052, quantity: 'sys.ah', name: 'Ah since last reset', unit: 'Ah' },
  { address: 0x0054, quantity: 'sys.powerDemand', name: 'Total system power demand', unit: 'W' },
  { address: 0x0056, quantity: 'sys.maxPowerDemand', name: 'Maximum total system power demand', unit: 'W' },
  { address: 0x0064, quantity: 'sys.vaDemand', name: 'Total system VA demand', unit: 'VA' },
  { address: 0x0066, quantity: 'sys.maxVaDemand', name: 'Maximum total system VA demand', unit: 'VA' },
  { address: 0x0068, quantity: 'sys.neutralCurrentDemand', name: 'Neutral current demand', unit: 'A' },
  { address: 0x006a, quantity: 'sys.maxNeutralCurrentDemand', name: 'Maximum neutral current demand', unit: 'A' },
  { address: 0x00c8, quantity: 'll12.voltage', name: 'Line 1 to line 2 volts', unit: 'V' },
  { address: 0x00ca, quantity: 'll23.voltage', name: 'Line 2 to line 3 volts', unit: 'V' },
  { address: 0x00cc, quantity: 'll31.voltage', name: 'Line 3 to line 1 volts', unit: 'V' },
  { address: 0x00ce, quantity: 'sys.lineVoltage', name: 'Average line to line volts', unit: 'V' },
  { address: 0x00e0, quantity: 'sys.neutralCurrent', name: 'Neutral current', unit: 'A' },
  ...phase(0x00ea, 'voltageThd', 'L/N volts THD', '%'),
  ...phase(0x00f0, 'currentThd', 'current THD', '%'),
  { address: 0x00f8, quantity: 'sys.voltageThd', name: 'Average line to neutral volts THD', unit: '%' },
  { address: 0x00fa, quantity: 'sys.currentThd', name: 'Average line current THD', unit: '%' },
  ...phase(0x0102, 'currentDemand', 'current demand', 'A'),
  ...phase(0x0108, 'maxCurrentDemand', 'maximum current demand', 'A'),
  { address: 0x014e, quantity: 'll12.voltageThd', name: 'Line 1 to line 2 volts THD', unit: '%' },
  { address: 0x0150, quantity: 'll23.voltageThd', name: 'Line 2 to line 3 volts THD', unit: '%' },
  { address: 0x0152, quantity: 'll31.voltageThd', name: 'Line 3 to line 1 volts THD', unit: '%' },
  { address: 0x0154, quantity: 'sys.lineVoltageThd', name: 'Average line to line volts THD', unit: '%' },
  { address: 0x0156, quantity: 'sys.totalKWh', name: 'Total active energy', unit: 'kWh' },
  { address: 0x0158, quantity: 'sys.totalKVarh', name: 'Total reactive energy', unit: 'kvarh' },
  ...phase(0x015a, 'importKWh', 'import active energy', 'kWh'),
  ...phase(0x0160, 'exportKWh', 'export active energy', 'kWh'),
  ...phase(0x0166, 'totalKWh', 'total active energy', 'kWh'),
  ...phase(0x016c, 'importKVarh', 'import reactive energy', 'kvarh'),
  ...phase(0x0172, 'exportKVarh', 'export reactive energy', 'kvarh'),
  ...phase(0x0178, 'totalKVarh', 'total reactive energy', 'kvarh'),
];

/** The input map's register range: an address inside it reads as a value (0 where no parameter sits). */
export const SDM630_INPUT_RANGE = { first: 0x0000, last: 0x017d } as const;

/**
 * The most registers one read may ask for: Eastron limits a request to 40 parameters (80 registers); more is
 * answered ILLEGAL DATA VALUE.
 */
export const SDM630_MAX_READ_REGISTERS = 80;

/** One of the meter's settings (holding registers): its address, whether a master may write it, and what it takes. */
export interface Sdm630Setting {
  address: number;
  key: string;
  name: string;
  writable: boolean;
  /** The values it accepts (an enumeration), or its range. */
  accepts: readonly number[] | { min: number; max: number };
  initial: number;
}

export const SDM630_HOLDING: readonly Sdm630Setting[] = [
  {
    address: 0x0000,
    key: 'demandTime',
    name: 'Demand time (minutes)',
    writable: false,
    accepts: { min: 0, max: 60 },
    initial: 0,
  },
  {
    address: 0x0002,
    key: 'demandPeriod',
    name: 'Demand period (minutes)',
    writable: true,
    accepts: [0, 5, 8, 10, 15, 20, 30, 60],
    initial: 60,
  },
  {
    address: 0x000a,
    key: 'systemType',
    name: 'System type (1: 1P2W, 2: 3P3W, 3: 3P4W)',
    writable: true,
    accepts: [1, 2, 3],
    initial: 3,
  },
  {
    address: 0x000c,
    key: 'pulseWidth',
    name: 'Pulse 1 width (ms)',
    writable: true,
    accepts: [60, 100, 200],
    initial: 100,
  },
  {
    address: 0x0012,
    key: 'parityStop',
    name: 'Network parity and stop bits (0: none 1, 1: even 1, 2: odd 1, 3: none 2)',
    writable: true,
    accepts: [0, 1, 2, 3],
    initial: 0,
  },
  {
    address: 0x0014,
    key: 'nodeAddress',
    name: 'Modbus node address',
    writable: true,
    accepts: { min: 1, max: 247 },
    initial: 1,
  },
  {
    address: 0x0016,
    key: 'pulseConstant',
    name: 'Pulse 1 constant (0: 0.001 kWh/imp, 1: 0.01, 2: 0.1, 3: 1)',
    writable: true,
    accepts: [0, 1, 2, 3],
    initial: 0,
  },
  {
    address: 0x001c,
    key: 'baudRate',
    name: 'Network baud rate (0: 2400, 1: 4800, 2: 9600, 3: 19200, 4: 38400)',
    writable: true,
    accepts: [0, 1, 2, 3, 4],
    initial: 2,
  },
  {
    address: 0x0056,
    key: 'pulseEnergyType',
    name: 'Pulse 1 energy type (1: import kWh, 2: import + export kWh, 4: export kWh, 5: import kvarh, 6: import + export kvarh, 8: export kvarh)',
    writable: true,
    accepts: [1, 2, 4, 5, 6, 8],
    initial: 1,
  },
];

/** The settings' register range (function 03): inside it an address without a setting reads 0. */
export const SDM630_HOLDING_RANGE = { first: 0x0000, last: 0x0057 } as const;

/** Whether `value` is one a setting accepts. */
export function settingAccepts(s: Sdm630Setting, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  return Array.isArray(s.accepts)
    ? (s.accepts as readonly number[]).includes(value)
    : value >= (s.accepts as { min: number }).min && value <= (s.accepts as { max: number }).max;
}

/** The input parameter that carries `quantity` (throws for a name the map has not: a driver's programming error). */
export function sdm630Address(quantity: string): number {
  const p = SDM630_INPUT.find((x) => x.quantity === quantity);
  if (!p) throw new Error(`the SDM630 map has no ${quantity}`);
  return p.address;
}
