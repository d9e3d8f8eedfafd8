import { existsSync } from 'node:fs';
import createDebug from 'debug';
import { billingDomain, type SignedBillingRecord } from '../billing/billing-record.js';
import { landedToJson } from '../billing/landed.js';
import { type Tariff, tariffToJson } from '../billing/tariff.js';
import { DEFAULT_CURRENCY } from '../billing/tariff-file.js';
import { RigError } from '../core/errors.js';
import { ENTRY } from '../core/record/entries.js';
import type { Chain } from '../ledger/chain.js';
import type { LedgerClient, SubmitResult } from '../ledger/client.js';
import type { Deployment } from '../ledger/contracts.js';

const debug = createDebug('bench:ledger-session');

export interface LedgerIdentity {
  kind: 'embedded' | 'external';
  url?: string;
  chainId: string;
  contracts: Deployment['contracts'];
  deployedAtBlock: number;
  /** The chain's latest block when the run began: this run's records all land after it. */
  runFromBlock: number;
  /** Where the contracts came from: a saved deployment (`bench ledger deploy`) or deployed for this run. */
  deployment: { source: 'saved'; file: string } | { source: 'fresh'; reason: string };
}

/** What a meter forwards its signed records to. Resolves with the ledger's answer; rejects when unreachable. */
export interface BillingSink {
  submit(signed: SignedBillingRecord): Promise<SubmitResult>;
}

/**
 * The chain side of a certification run: contracts deployed (or found), meters registered, records relayed, and
 * after each case the chain read back by block range into the run record for the pure verifier.
 */
export class LedgerSession {
  private constructor(
    readonly chain: Chain,
    readonly deployment: Deployment,
    readonly client: LedgerClient,
    private current: { tariff: Tariff; version: number },
    private readonly source: LedgerIdentity['deployment'],
  ) {}

  /** The tariff in force and its registry version: what meters bill with and the verifier recomputes. */
  get tariff(): Tariff {
    return this.current.tariff;
  }

  get tariffVersion(): number {
    return this.current.version;
  }

  /**
   * ISO 4217 currency of each registry version this session published. The chain keeps only micro-units; the
   * record keeps the currency so reports can print costs in it.
   */
  private readonly currencies = new Map<number, string>();

  /** Makes `tariff` the one in force, publishing it as a new registry version unless it already is. */
  async useTariff(tariff: Tariff, currency: string = DEFAULT_CURRENCY): Promise<number> {
    const same = JSON.stringify(tariffToJson(tariff)) === JSON.stringify(tariffToJson(this.current.tariff));
    if (
      !same ||
      (this.currencies.has(this.current.version) && this.currencies.get(this.current.version) !== currency)
    ) {
      const { version } = await this.client.setTariff(tariff);
      this.current = { tariff, version };
    }
    this.currencies.set(this.current.version, currency);
    return this.current.version;
  }

  /** Meters registered since the last read-back: their registry state is recorded even if nothing landed. */
  private readonly registered = new Set<string>();

  /**
   * Opens the ledger of a run. On an external chain the contracts of the saved deployment are used when there is
   * one (`--deployment FILE`, else the file `bench ledger deploy` writes for that chain id), so the run's records
   * land where `bench ledger verify` and the lab's other tools look; only without one are fresh contracts deployed.
   */
  static async open(opts: { ledger?: string; deploymentFile?: string; tariff?: Tariff }): Promise<LedgerSession> {
    const [{ openChain }, contracts, { LedgerClient }, { defaultTariff }] = await Promise.all([
      import('../ledger/chain.js'),
      import('../ledger/contracts.js'),
      import('../ledger/client.js'),
      import('../billing/tariff.js'),
    ]);
    const chain = await openChain({ ledger: opts.ledger });
    try {
      let deployment: Deployment | undefined;
      let source: LedgerIdentity['deployment'] | undefined;
      const saved = opts.deploymentFile ?? contracts.defaultDeploymentPath(chain.chainId);
      let stale: string | undefined;
      if (chain.kind === 'external' && (opts.deploymentFile !== undefined || existsSync(saved))) {
        const d = contracts.loadDeployment(saved);
        try {
          await contracts.checkDeployment(chain, d);
          deployment = d;
          source = { source: 'saved', file: saved };
        } catch (e) {
          // A file named on the command line must be right; the default file may be left over from another
          // chain with the same id (every Ganache is 1337), so it is passed over with the reason said.
          if (opts.deploymentFile !== undefined) throw e;
          stale = `the saved deployment ${saved} has no contracts on ${chain.url} (${(e as Error).message})`;
        }
      }
      if (!deployment || !source) {
        deployment = await contracts.deployLedger(chain, { tariff: opts.tariff ?? defaultTariff() });
        source = {
          source: 'fresh',
          reason:
            chain.kind === 'embedded'
              ? 'embedded chain (in memory, gone when the run ends)'
              : (stale ?? `no saved deployment for ${chain.url} (${saved})`),
        };
      }
      const client = await LedgerClient.create(chain, deployment);
      debug('ledger contracts at %o (%o)', deployment.contracts, source);
      // The tariff in force is the registry's (a saved deployment may carry a newer version than the default).
      let version = await client.currentTariffVersion();
      let tariff: Tariff;
      if (version === 0) {
        tariff = opts.tariff ?? defaultTariff();
        ({ version } = await client.setTariff(tariff));
      } else {
        tariff = await client.tariff(version);
      }
      const session = new LedgerSession(chain, deployment, client, { tariff, version }, source);
      // bench's own default tariff (fresh contracts, or a registry that had none) is priced in the default currency.
      if (source.source === 'fresh' || version === 1) session.currencies.set(version, DEFAULT_CURRENCY);
      session.runFromBlock = await client.blockNumber();
      return session;
    } catch (e) {
      await chain.close();
      throw e;
    }
  }

  private runFromBlock = 0;

  get identity(): LedgerIdentity {
    return {
      kind: this.chain.kind,
      url: this.chain.url,
      chainId: this.chain.chainId.toString(),
      contracts: this.deployment.contracts,
      deployedAtBlock: this.deployment.deployedAtBlock,
      runFromBlock: this.runFromBlock,
      deployment: this.source,
    };
  }

  get domain() {
    return billingDomain(this.chain.chainId, this.deployment.contracts.BillingLedger);
  }

  /**
   * Registers a meter's signing key with its host pseudonym; its firmware is attested only when `attested`. A key
   * the registry already knows (a saved deployment, a meter certified before) keeps its registration: its firmware
   * entry is brought up to date, and a different host or a revoked key is a rig problem the run cannot fix.
   */
  async registerMeter(address: string, hostPseudonym: string, firmwareHash: string, attested: boolean): Promise<void> {
    this.registered.add(address);
    const info = await this.client.meterInfo(address);
    if (info.registeredAt === 0) {
      await this.client.registerMeter(address, hostPseudonym, firmwareHash);
    } else {
      if (info.revokedAt !== 0 || info.host.toLowerCase() !== hostPseudonym.toLowerCase()) {
        throw new RigError(
          `meter ${address} is ${info.revokedAt !== 0 ? 'revoked' : `registered for another host (${info.host})`} on ledger ${this.deployment.contracts.MeterRegistry}`,
          { device: 'ledger', actions: ['Use a fresh deployment (`bench ledger deploy`) or another meter key.'] },
        );
      }
      if (info.firmwareHash.toLowerCase() !== firmwareHash.toLowerCase()) {
        await this.client.updateMeterFirmware(address, firmwareHash);
      }
    }
    await this.client.setFirmwareApproval(firmwareHash, attested);
  }

  /**
   * The bench's billing key for a charging station it is the central system of: the records of the station's
   * verified transactions are signed with it (version 3, billing/station-record.ts). Derived from the relayer
   * account's signature over the station's identity (deterministic ECDSA), so the same ledger account gives the same
   * key run after run, whatever kind of account it is (mnemonic, --relayer-key or the node's own), and a station's
   * sequence goes on across runs.
   */
  async stationSigner(identity: string): Promise<import('ethers').Wallet> {
    const { Wallet, keccak256 } = await import('ethers');
    const { registerSecret } = await import('../ledger/secrets.js');
    const relayer = await this.chain.account(0);
    const seed = keccak256(await relayer.signMessage(`bench station billing key v1: ${identity}`));
    registerSecret(seed);
    return new Wallet(seed);
  }

  /** The last sequence number the ledger holds for a meter key (0 for a key that never billed here). */
  lastSeq(address: string): Promise<bigint> {
    return this.client.lastSeq(address);
  }

  blockNumber(): Promise<number> {
    return this.client.blockNumber();
  }

  /** A sink for one case: every submission and the ledger's answer is observed into the record. */
  sink(observe: (kind: string, data: Record<string, unknown>) => void): BillingSink {
    return {
      submit: async (signed) => {
        // submitRecords reports a refusal as a result (with the contract's reason) instead of throwing.
        const [result] = await this.client.submitRecords([signed]);
        if (!result) throw new Error('the ledger client returned no result');
        observe(ENTRY.ledgerSubmission, {
          meter: result.meter,
          seq: result.seq.toString(),
          status: result.status,
          reason: result.revert?.name,
          txHash: result.txHash,
          gasUsed: result.gasUsed.toString(),
        });
        return result;
      },
    };
  }

  /** Reads back everything landed since `fromBlock`, plus registry and tariff state, into the record. */
  async collect(fromBlock: number, observe: (kind: string, data: Record<string, unknown>) => void): Promise<void> {
    const { scanLedger } = await import('../ledger/logs.js');
    const scan = await scanLedger(this.chain, this.deployment, { fromBlock });
    for (const l of scan.records) observe(ENTRY.ledgerLanded, { ...landedToJson(l) });
    const meters = new Set([...scan.records.map((l) => l.record.meter), ...this.registered]);
    this.registered.clear();
    const states = [];
    for (const m of meters) {
      const info = await this.client.meterInfo(m);
      // Records of this meter landed before the scan: its sequence here continues from there.
      const landedHere = scan.records.filter((l) => l.record.meter.toLowerCase() === m.toLowerCase()).length;
      const seqBefore = (await this.client.lastSeq(m)) - BigInt(landedHere);
      states.push({
        meter: m,
        status: info.status,
        host: info.status === 'NotRegistered' ? undefined : info.host,
        seqBefore: seqBefore.toString(),
      });
    }
    const version = await this.client.currentTariffVersion();
    const tariffs: Record<string, unknown> = {};
    for (let v = 1; v <= version; v++) tariffs[v] = tariffToJson(await this.client.tariff(v));
    const d = this.domain;
    observe(ENTRY.ledgerState, {
      domain: { ...d, chainId: d.chainId.toString() },
      meters: states,
      tariffs,
      currencies: Object.fromEntries(this.currencies),
      fromBlock: scan.fromBlock,
      toBlock: scan.toBlock,
    });
  }

  async anchorReport(
    runId: string,
    reportSha256: string,
    verdictCode: number,
  ): Promise<{ txHash: string; block: number }> {
    const receipt = await this.client.anchorReport(runId, `0x${reportSha256}`, verdictCode);
    return { txHash: receipt.transactionHash, block: receipt.blockNumber };
  }

  close(): Promise<void> {
    return this.chain.close();
  }
}
