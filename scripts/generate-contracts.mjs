// Compiles ledger/contracts/*.sol with solc-js into ledger/artifacts/<Contract>.json ({ contractName, abi, bytecode,
// deployedBytecode, compiler, sourceHash }). Run by scripts/build.mjs before tsc. solc is loaded only here, never in
// the CLI process (it installs a process-wide unhandled-rejection handler).
// evmVersion "shanghai": Ganache 7.9 rejects the Cancun opcodes newer solc emits by default. The contracts import
// OpenZeppelin from `@openzeppelin/contracts-shanghai` (an npm alias of 5.4.0): from 5.5 on, EIP712 pulls in
// utils/Bytes.sol, whose inline assembly uses `mcopy` (Cancun) and does not compile for Shanghai.
// Skips the compile when the sources and compiler are unchanged since the last run (hash kept in each artifact).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const contractsDir = join(root, 'ledger/contracts');
const outDir = join(root, 'ledger/artifacts');
const require = createRequire(import.meta.url);

const EVM_VERSION = 'shanghai';
const OPTIMIZER_RUNS = 10_000;
// The IR pipeline saves ~2,200 gas per single record and ~430 per batched record (compiles in ~9 s instead of ~3 s;
// the compile is skipped while sources and compiler are unchanged).
const VIA_IR = true;

const files = readdirSync(contractsDir)
  .filter((f) => f.endsWith('.sol'))
  .sort();
const sources = Object.fromEntries(
  files.map((f) => [`ledger/contracts/${f}`, { content: readFileSync(join(contractsDir, f), 'utf8') }]),
);
const solcVersion = JSON.parse(readFileSync(require.resolve('solc/package.json'), 'utf8')).version;
const ozVersion = JSON.parse(
  readFileSync(require.resolve('@openzeppelin/contracts-shanghai/package.json'), 'utf8'),
).version;
const sourceHash = createHash('sha256')
  .update(JSON.stringify({ sources, solcVersion, ozVersion, EVM_VERSION, OPTIMIZER_RUNS, VIA_IR }))
  .digest('hex');

const contractNames = files.map((f) => f.replace(/\.sol$/, ''));
const upToDate = contractNames.every((name) => {
  const file = join(outDir, `${name}.json`);
  if (!existsSync(file)) return false;
  try {
    return JSON.parse(readFileSync(file, 'utf8')).sourceHash === sourceHash;
  } catch {
    return false;
  }
});
if (upToDate) process.exit(0);

const solc = require('solc');
const input = {
  language: 'Solidity',
  sources,
  settings: {
    evmVersion: EVM_VERSION,
    optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
    viaIR: VIA_IR,
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};

function findImports(path) {
  try {
    const resolved = path.startsWith('@') ? require.resolve(path) : join(root, path);
    return { contents: readFileSync(resolved, 'utf8') };
  } catch (e) {
    return { error: `cannot resolve ${path}: ${e.message}` };
  }
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
// Warnings about our own sources are printed; those inside OpenZeppelin are not ours to fix.
for (const e of output.errors ?? []) {
  if (e.severity !== 'error' && e.sourceLocation?.file?.startsWith('ledger/'))
    process.stderr.write(`solc warning: ${e.formattedMessage}\n`);
}
if (errors.length > 0) {
  for (const e of errors) process.stderr.write(`${e.formattedMessage}\n`);
  process.stderr.write('generate-contracts: Solidity compilation failed\n');
  process.exit(1);
}

mkdirSync(outDir, { recursive: true });
for (const file of files) {
  const name = file.replace(/\.sol$/, '');
  const c = output.contracts[`ledger/contracts/${file}`]?.[name];
  if (!c) {
    process.stderr.write(`generate-contracts: ${file} does not define contract ${name}\n`);
    process.exit(1);
  }
  const artifact = {
    contractName: name,
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
    deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
    compiler: {
      solc: solcVersion,
      evmVersion: EVM_VERSION,
      optimizerRuns: OPTIMIZER_RUNS,
      viaIR: VIA_IR,
      openzeppelin: ozVersion,
    },
    sourceHash,
  };
  // Atomic replace: a concurrent build or test never reads half a file.
  const tmp = join(outDir, `.${name}.json.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(artifact, null, 2)}\n`);
  renameSync(tmp, join(outDir, `${name}.json`));
}
process.stdout.write(`generate-contracts: compiled ${files.length} contracts (solc ${solcVersion}, ${EVM_VERSION})\n`);
