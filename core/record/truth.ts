/** The ground truth a scenario gives each case: what happened, what was used, what each session should cost. */

export interface TruthEvent {
  t: number;
  meterId: string;
  loadId: string;
  profile: string;
  class: string;
  direction: 'on' | 'off';
  deltaP: number;
  deltaQ: number;
}

export interface TruthSession {
  sessionId: string;
  meterId: string;
  evId: string;
  ownerContractId: string;
  hostContractId: string;
  payerContractId: string;
  authorised: boolean;
  /** The back office's answer for the EV's token when it is not Accepted: a charging station must refuse it. */
  tokenStatus?: 'Blocked' | 'Expired' | 'Invalid';
  roaming: boolean;
  /** The EV is connected from plugIn to unplug (seconds); it draws from start to end (first to last charging). */
  plugIn: number;
  unplug: number;
  start: number;
  end: number;
  importWh: number;
  exportWh: number;
  /** Import energy drawn in each band of the scenario's tariff (index = band), from the synthesized power. */
  bandWh: number[];
  /**
   * Expected cost in currency units: the scenario's tariff (TOU bands, EV incentive, market price for export;
   * the ledger's default tariff when it has none) applied by the one cost formula the meter bills with and the
   * verifier recomputes (billing/tariff.ts computeCostMicro) to the record the meter should sign: the import
   * energy of each band at that band's price.
   */
  cost: number;
  /** ISO 4217 code of the tariff's currency, the unit of `cost` and of the record's costMicro. */
  currency: string;
}

/** The true energy of one load run (or a house's standby base). */
export interface TruthEnergy {
  meterId: string;
  loadId: string;
  class: string;
  profile: string;
  start: number;
  end: number;
  /** Signed energy in Wh (negative for export, e.g. V2G or PV). */
  energyWh: number;
  /** Mean apparent current in A over the run (for metrology test points): per phase, on the most loaded one. */
  currentA: number;
  /** On a three-phase supply: the phase the load is on, or L1L2L3 for a three-phase load. */
  phases?: 'L1' | 'L2' | 'L3' | 'L1L2L3';
  /** Mean power factor |P|/S; negative when the load is capacitive (leading: Q < 0), as test plans write 0.8 cap. */
  pf: number;
}
