import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { keccak256, toUtf8Bytes } from 'ethers';
import { pseudonym } from '../billing/billing-record.js';
import { tariffToJson } from '../billing/tariff.js';
import { FileValidationError, InputError, NotFoundError } from '../core/errors.js';
import { ENTRY } from '../core/record/entries.js';
import type { Rig } from '../core/rig.js';
import { PACKAGE_ROOT } from '../core/version.js';
import { loadMeterConfigFile, type MeterConfigInput, parseMeterConfig } from '../meter/config.js';
import { meterKey } from '../meter/identity.js';
import { groundTruth } from '../profiles/ground-truth.js';
import { loadScenarioFile, resolveScenarioPath, scenarioLedgerTariff } from '../profiles/scenario.js';
import { type Scenario, scenarioSchema } from '../profiles/scenario-schema.js';
import { loadRigFile } from '../rigs/rig-file.js';
import { SERVED_TIME_SCALE, servedTimeScaleOf } from '../rigs/schema.js';
import { VirtualRig } from '../rigs/virtual/virtual-rig.js';
import type { RigInfo, RigProvider } from './certify.js';
import type { CaseEntry, PreparedCase } from './executor.js';
import { referenceStandardEntries, rigReferenceStandard, VIRTUAL_REFERENCE } from './reference-standard.js';
import type { SuiteCase } from './suite.js';

const BUILTIN_RIGS: Record<string, string> = {
  sim: 'bench built-in rig "sim": in-process waveform synthesis, reference meter, virtual clock',
};

/**
 * Built-in rig files, each a bench of coupled emulators brought up by the run itself: `sim-serial` (a meter on
 * PTYs), `sim-ocpp` and `sim-ocpp16` (a charging station dialling the bench over OCPP 2.0.1 / 1.6-J).
 */
export const BUILTIN_RIG_FILES: Record<string, string> = Object.fromEntries(
  ['sim-serial', 'sim-ocpp', 'sim-ocpp16'].map((name) => [name, join(PACKAGE_ROOT, 'rigs', 'builtin', `${name}.yaml`)]),
);

export function builtinRigFile(ref: string): string | undefined {
  return BUILTIN_RIG_FILES[ref];
}

/** Loads a case's scenario: a path relative to the suite file, or an inline scenario object. */
export function loadCaseScenario(c: SuiteCase, suiteFile: string) {
  if (typeof c.scenario === 'string') return loadScenarioFile(resolveScenarioPath(c.scenario, dirname(suiteFile)));
  const r = scenarioSchema.safeParse(c.scenario);
  if (!r.success) {
    throw new FileValidationError(
      suiteFile,
      r.error.issues.map((i) => ({
        file: suiteFile,
        field: `cases.${c.id}.scenario.${i.path.join('.')}`,
        message: i.message,
      })),
    );
  }
  return r.data;
}

/**
 * Ground truth of a case as record entries. Expected billing sessions carry what the ledger must show: the host
 * meter's signing address, payer and host pseudonyms, unix times, and the TOU cost.
 */
export function truthEntries(
  c: SuiteCase,
  scenario: Scenario,
  caseSeed: number,
  salt: string,
  /** A real DUT: its own signing address and host pseudonym replace the simulated meter's. */
  dut?: { address: string; host: string },
): PreparedCase {
  const truth = groundTruth(scenario, caseSeed);
  const entries: CaseEntry[] = [];
  for (const e of truth.events) entries.push({ kind: ENTRY.truthEvent, data: { ...e } });
  for (const e of truth.energies) entries.push({ kind: ENTRY.truthLoadEnergy, data: { ...e } });
  for (const s of truth.sessions) {
    const startUnix = truth.epochS + s.start;
    const endUnix = truth.epochS + s.end;
    entries.push({
      kind: ENTRY.truthSession,
      data: {
        ...s,
        meterAddress: dut?.address ?? meterKey(caseSeed, s.meterId).address,
        // An unattributed session is billed to the host account, whichever pseudonym the installation has.
        payerPseudonym: dut && s.payerContractId === s.hostContractId ? dut.host : pseudonym(s.payerContractId, salt),
        hostPseudonym: dut?.host ?? pseudonym(s.hostContractId, salt),
        startUnix,
        endUnix,
      },
    });
  }
  return {
    plan: { caseId: c.id, scenario, params: {} },
    truth: entries,
  };
}

/** The in-process rig `sim`: waveform synthesis into the reference meter on a virtual clock. */
const simRigProvider: RigProvider = {
  describe(ref, { timeScale, meterConfig } = {}): RigInfo {
    if (timeScale !== undefined && timeScale !== 1) {
      throw new InputError('--time-scale applies to rigs with instruments; rig sim runs on a virtual clock', [
        { file: ref, field: 'time-scale', message: 'the built-in sim rig already runs as fast as it can' },
      ]);
    }
    // Read now, so a missing file or a misspelt knob stops the run before it exists.
    if (meterConfig) loadMeterConfigFile(meterConfig);
    const text = BUILTIN_RIGS[ref] as string;
    return { name: ref, sha256: createHash('sha256').update(text).digest('hex') };
  },
  async bind({ meterConfig, ledger, workers }) {
    const input: MeterConfigInput = meterConfig ? loadMeterConfigFile(meterConfig) : {};
    const config = parseMeterConfig(input);
    const rig = new VirtualRig({ meterConfig: input, ledger, workers });
    return {
      rig,
      prepareCase: async (c, caseSeed, params, suiteFile) => {
        const scenario = loadCaseScenario(c, suiteFile);
        const reference = referenceStandardEntries(params, VIRTUAL_REFERENCE, today(), 'sim');
        // The case's tariff is published (as a new registry version when it differs) before its meters bill.
        const tariff = scenarioLedgerTariff(scenario);
        await ledger.useTariff(tariff, scenario.tariff?.currency);
        const prepared = truthEntries(c, scenario, caseSeed, config.pseudonymSalt);
        prepared.truth.push(...reference);
        prepared.plan.meter = c.meter;
        return prepared;
      },
    };
  },
};

/** Rig files (and the built-in `sim-serial`): real drivers over serial/TCP, played in (scaled) real time. */
const rigFileProvider: RigProvider = {
  async describe(ref, { meterConfig, timeScale } = {}): Promise<RigInfo> {
    const file = builtinRigFile(ref) ?? ref;
    if (!existsSync(file) && /[/\\]|\.(ya?ml|json)$/i.test(ref)) {
      throw new NotFoundError(
        `--rig ${ref}: file not found`,
        [{ file: ref, message: 'file not found' }],
        [
          `Check the path, or use a built-in rig: ${[...Object.keys(BUILTIN_RIGS), ...Object.keys(BUILTIN_RIG_FILES)].join(', ')}.`,
        ],
      );
    }
    if (!existsSync(file)) {
      throw new InputError(
        `unknown rig ${ref}`,
        [{ file: ref, message: 'neither a built-in rig nor a rig file' }],
        [`Built-in rigs: ${[...Object.keys(BUILTIN_RIGS), ...Object.keys(BUILTIN_RIG_FILES)].join(', ')}`],
      );
    }
    const config = loadRigFile(file);
    const served = servedTimeScaleOf(config);
    if (served !== undefined && served !== (timeScale ?? 1)) {
      throw new InputError(
        `rig ${config.name} is served by \`bench sim up --time-scale ${served}\`; this run asked for --time-scale ${timeScale ?? 1}`,
        [{ file, field: `instruments[0].options.${SERVED_TIME_SCALE}`, message: `served at time scale ${served}` }],
        [`Certify with --time-scale ${served}, or restart \`bench sim up\` with the scale you want.`],
      );
    }
    const inProcess = config.instruments.find((i) => i.transport.kind === 'sim');
    if (inProcess) {
      throw new InputError(`rig ${config.name}: instrument ${inProcess.id} has transport sim`, [
        {
          file,
          field: `instruments.${config.instruments.indexOf(inProcess)}.transport.kind`,
          message: 'in-process instruments exist only in the built-in rig sim; use serial or tcp',
        },
      ]);
    }
    // An instrument a run cannot open in its role is found here, before the run exists, not when it opens. The
    // registry brings every driver and its library (serialport, modbus-serial): loaded only for a rig file, so a
    // run on `sim` does not start them up.
    const { instrumentEntryFor } = await import('../rigs/instrument-registry.js');
    for (const [index, inst] of config.instruments.entries()) {
      const entry = instrumentEntryFor(inst);
      if (!entry || entry.roles.includes(inst.role)) continue;
      throw new InputError(
        entry.roles.length
          ? `rig ${config.name}: instrument ${inst.id} (${inst.dialect}) cannot be the ${inst.role}`
          : `rig ${config.name}: instrument ${inst.id} (${inst.dialect}) is checked with \`bench rig check\`; this version of bench plays no case at it`,
        [
          {
            file,
            field: `instruments.${index}.${entry.roles.length ? 'role' : 'dialect'}`,
            message: `roles a run takes: ${entry.roles.join(', ') || 'none'}`,
          },
        ],
      );
    }
    if (meterConfig) {
      throw new InputError(
        `--meter-config configures the simulated reference meter; rig ${config.name} has a real DUT`,
        [{ file: meterConfig, message: 'only the built-in rig sim takes a meter configuration' }],
      );
    }
    return {
      name: config.name,
      file,
      sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
      ...(config.dut ? { dut: config.dut } : {}),
    };
  },
  async bind({ rig: info, ledger, timeScale = 1 }) {
    let config = loadRigFile(info.file as string);
    const { HardwareRig } = await import('../rigs/hardware-rig.js');
    const { ocppStationOptions } = await import('../rigs/instrument-registry.js');
    const { realTimeSeconds, whyUnplayable } = await import('../rigs/hardware/playback.js');
    let emulators: { close(): Promise<void> } | undefined;
    let workDir: string | undefined;
    if (Object.values(BUILTIN_RIG_FILES).includes(info.file as string)) {
      // A built-in emulated bench is brought up for this run on PTYs and ports of its own, so runs never share
      // devices.
      const { simUp, withFreeListenPorts, withSerialPathsUnder } = await import('../rigs/sim-up.js');
      workDir = mkdtempSync(join(tmpdir(), `bench-${config.name}-`));
      config = await withFreeListenPorts(withSerialPathsUnder(config, workDir));
      emulators = await simUp(config, { timeScale });
    }
    const defaultSalt = parseMeterConfig({}).pseudonymSalt;
    // A charging station under test: the bench, as its central system, bills its verified transactions with a key
    // of its own for the station, registered like a meter for the station's site (its identity as the host account).
    const stationInstrument = config.instruments.find((i) => i.capabilities.includes('station.ocpp'));
    const stationId = stationInstrument && ocppStationOptions(stationInstrument).identity;
    const stationSigner = stationId === undefined ? undefined : await ledger.stationSigner(stationId);
    const station =
      stationSigner && stationId !== undefined
        ? { address: stationSigner.address, host: pseudonym(stationId, defaultSalt) }
        : undefined;
    const hardware = new HardwareRig(config, {
      relayFor: (observe) => ledger.sink(observe),
      ...(stationSigner && { stationSigner }),
    });
    const streamDut = config.instruments.find((i) => i.role === 'dut' && i.capabilities.includes('meter.billing'));
    let registered = false;
    let stationRegistered = false;
    const rig: Rig = {
      name: hardware.name,
      capabilities: hardware.capabilities,
      open: () => hardware.open(),
      runCase: (plan, ctx) => hardware.runCase(plan, ctx),
      close: async () => {
        await hardware.close();
        await emulators?.close();
        if (workDir) rmSync(workDir, { recursive: true, force: true });
      },
    };
    return {
      rig,
      prepareCase: async (c, caseSeed, params, suiteFile) => {
        const scenario = loadCaseScenario(c, suiteFile);
        const unplayable = whyUnplayable(scenario, caseSeed, hardware.name);
        if (unplayable) return { plan: { caseId: c.id, scenario, params }, truth: [], notRun: unplayable };
        const reference = referenceStandardEntries(params, rigReferenceStandard(config), today(), config.name);
        const tariff = scenarioLedgerTariff(scenario);
        await ledger.useTariff(tariff, scenario.tariff?.currency);
        const dut = hardware.dut;
        if (station && !stationRegistered) {
          await ledger.registerMeter(station.address, station.host, CENTRAL_SYSTEM_FIRMWARE, true);
          stationRegistered = true;
        }
        if (dut && streamDut && !registered) {
          // The utility's side of installing the DUT: its key, host account and firmware on the registry. A rig
          // may pin the firmware build it attests; otherwise the lab attests what the meter reports.
          const pinned = streamDut.options?.attestedFirmwareHash;
          await ledger.registerMeter(
            dut.address,
            dut.host,
            dut.firmwareHash,
            pinned === undefined || pinned === dut.firmwareHash,
          );
          registered = true;
        }
        // The truth's records are expected from whoever signs them: the DUT meter, else the station's billing key.
        const prepared = truthEntries(c, scenario, caseSeed, defaultSalt, dut ?? station);
        prepared.truth.push(...reference);
        prepared.plan.params = {
          ...params,
          timeScale,
          ...(station && {
            stationBilling: {
              chainId: ledger.identity.chainId,
              verifyingContract: ledger.identity.contracts.BillingLedger,
              tariffVersion: ledger.tariffVersion,
              tariff: tariffToJson(tariff),
              lastSeq: (await ledger.lastSeq(station.address)).toString(),
              host: station.host,
              salt: defaultSalt,
            },
          }),
          // Commissioning for the case: clock at the scenario's start, the run's ledger, the tariff in force.
          commission: dut && {
            clockUnix: Date.parse(scenario.start) / 1000,
            chainId: ledger.identity.chainId,
            verifyingContract: ledger.identity.contracts.BillingLedger,
            tariffVersion: ledger.tariffVersion,
            tariff: tariffToJson(tariff),
            lastSeq: (await ledger.client.lastSeq(dut.address)).toString(),
          },
        };
        prepared.realTimeS = realTimeSeconds(scenario, prepared.plan.params);
        return prepared;
      },
    };
  },
};

/** The date a reference's calibration is checked against: the day the run is made (UTC). */
const today = () => new Date().toISOString().slice(0, 10);

/** The firmware the ledger attests for the bench's station billing keys: the bench's central system signs them. */
const CENTRAL_SYSTEM_FIRMWARE = keccak256(toUtf8Bytes('bench.central-system/1'));

/** Built-in rigs by name, and rig files (YAML) by path: the `--rig` of `bench certify`. */
export const rigProvider: RigProvider = {
  describe: (ref, flags) => (BUILTIN_RIGS[ref] ? simRigProvider : rigFileProvider).describe(ref, flags),
  bind: (opts) => (opts.rig.file ? rigFileProvider : simRigProvider).bind(opts),
};
