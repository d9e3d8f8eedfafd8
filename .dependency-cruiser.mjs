// The import rules of ARCHITECTURE.md, enforced. The layer table in
// ARCHITECTURE.md ("## Layers and folders") is the one place the allowed
// imports are written: this file reads it, so the map and the check cannot
// drift apart. test/unit/architecture.test.ts runs the check; by hand:
//   npx depcruise --config .dependency-cruiser.mjs core dsp billing protocols profiles meter ledger analysis rigs reports engine bench-cli
import { readFileSync } from 'node:fs';

const architecturePath = new URL('./ARCHITECTURE.md', import.meta.url);

/** Rows of the layer table: folder, and the folders it may import ("everything below" = every row above it in the table). */
export function readLayerTable(markdown = readFileSync(architecturePath, 'utf8')) {
  const section = markdown.split('## Layers and folders')[1]?.split(/\n## /)[0];
  if (!section) throw new Error('ARCHITECTURE.md: no "## Layers and folders" section');
  const rows = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const folder = /^`([a-z-]+)\/`$/.exec(cells[1] ?? '')?.[1];
    if (!folder) continue;
    const mayImport = cells[3] ?? '';
    const everythingBelow = /everything below/.test(mayImport);
    const named = [...mayImport.matchAll(/`([a-z-]+)\/?`/g)].map((m) => m[1]);
    rows.push({
      folder,
      mayImport: everythingBelow ? rows.map((r) => r.folder) : named,
      anything: /^anything/.test(mayImport),
    });
  }
  return rows;
}

const layers = readLayerTable();
const sourceFolders = layers.filter((l) => !l.anything).map((l) => l.folder);
const folderPattern = (folders) => `^(${folders.join('|')})/`;

const layerRules = layers
  .filter((l) => !l.anything)
  .map((l) => ({
    name: `layer-${l.folder}`,
    comment: `${l.folder}/ may import only ${l.mayImport.join(', ') || 'nothing else'} (ARCHITECTURE.md layer table)`,
    severity: 'error',
    from: { path: `^${l.folder}/` },
    to: {
      path: folderPattern(sourceFolders),
      pathNot: folderPattern([l.folder, ...l.mayImport]),
    },
  }));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...layerRules,
    {
      name: 'no-import-cycle',
      comment: 'files that import each other, directly or round a loop',
      severity: 'error',
      from: { path: folderPattern(sourceFolders) },
      to: { circular: true },
    },
    {
      name: 'drivers-stay-drivers',
      comment:
        'a driver speaks one protocol over a transport: it knows no meter, profile, ledger, analysis, report or rig runner',
      severity: 'error',
      from: { path: '^rigs/drivers/' },
      to: {
        path: '^(meter|profiles|billing|ledger|analysis|reports|engine|bench-cli)/|^rigs/(virtual|emulators|hardware)',
      },
    },
    {
      name: 'analysis-does-no-io',
      comment: 'analysis is pure: it reads what the run record holds, never a file, socket or process',
      severity: 'error',
      from: { path: '^analysis/' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|tls|child_process|readline|worker_threads)$',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|test)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      // ESM sources import './x.js' for './x.ts'
      extensionAlias: { '.js': ['.ts', '.js'] },
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.json'],
    },
  },
};
