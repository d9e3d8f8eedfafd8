// Build pipeline run by `npm run build` and by `prepare` (so `npm ci` leaves a runnable CLI):
// generated code first (contract artifacts), then TypeScript, then the oclif manifest.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, env = {}) =>
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });

// Every scripts/generate-*.mjs produces sources that tsc then compiles (e.g. Solidity artifacts).
for (const file of readdirSync(join(root, 'scripts'))
  .filter((f) => /^generate-.*\.mjs$/.test(f))
  .sort()) {
  run(process.execPath, [join(root, 'scripts', file)]);
}
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
const oclifBin = join(root, 'node_modules/oclif/bin/run.js');
// The oclif build tool checks the registry for a newer oclif of its own (@oclif/plugin-warn-if-update-available) and
// printed "oclif update available" on every first build; the tool is pinned in the lockfile, so skip the check.
if (existsSync(oclifBin)) run(process.execPath, [oclifBin, 'manifest'], { OCLIF_SKIP_NEW_VERSION_CHECK: 'true' });
