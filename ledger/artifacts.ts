import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RigError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/version.js';

/** Contracts compiled by scripts/generate-contracts.mjs into ledger/artifacts/<name>.json. */
export type ContractName = 'MeterRegistry' | 'TariffRegistry' | 'BillingLedger' | 'ReportAnchor';

export interface ContractArtifact {
  contractName: ContractName;
  // biome-ignore lint/suspicious/noExplicitAny: solc ABI JSON, handed to ethers as is
  abi: any[];
  bytecode: string;
  deployedBytecode: string;
  compiler: { solc: string; evmVersion: string; optimizerRuns: number; viaIR?: boolean; openzeppelin: string };
  sourceHash: string;
}

export const ARTIFACTS_DIR = join(PACKAGE_ROOT, 'ledger', 'artifacts');
const cache = new Map<ContractName, ContractArtifact>();

export function loadArtifact(name: ContractName): ContractArtifact {
  const hit = cache.get(name);
  if (hit) return hit;
  const file = join(ARTIFACTS_DIR, `${name}.json`);
  let artifact: ContractArtifact;
  try {
    artifact = JSON.parse(readFileSync(file, 'utf8')) as ContractArtifact;
  } catch (e) {
    throw new RigError(`contract artifact ${file} is missing or unreadable`, {
      code: 'ARTIFACT_MISSING',
      device: 'ledger',
      actions: ['Build the package (`npm run build`): it compiles ledger/contracts/*.sol into ledger/artifacts/.'],
      cause: e,
    });
  }
  cache.set(name, artifact);
  return artifact;
}
