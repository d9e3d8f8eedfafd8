import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import { beforeAll, describe, expect, it } from 'vitest';
import config, { readLayerTable } from '../../.dependency-cruiser.mjs';

// The layer table of ARCHITECTURE.md, checked against the imports in the code (see .dependency-cruiser.mjs).
const layers = readLayerTable();
const sourceFolders = layers.filter((l) => !l.anything && existsSync(l.folder)).map((l) => l.folder);

describe('ARCHITECTURE.md layer table', () => {
  it('lists folders that exist, bottom to top: each may import only rows above it', () => {
    expect(sourceFolders).toEqual(expect.arrayContaining(['core', 'billing', 'analysis', 'engine', 'bench-cli']));
    const seen = new Set<string>();
    for (const row of layers) {
      expect(existsSync(row.folder), `${row.folder}/ is in the table but not in the tree`).toBe(true);
      for (const imported of row.mayImport) {
        expect(seen.has(imported), `${row.folder}/ may import ${imported}/, which is not a row above it`).toBe(true);
      }
      seen.add(row.folder);
    }
  });

  it('names only files and folders that exist', () => {
    const topFolders = new Set(
      readdirSync('.', { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name),
    );
    const named = [...readFileSync('ARCHITECTURE.md', 'utf8').matchAll(/`([a-z][\w.-]*\/[\w./-]*)`/g)].map((m) => m[1]);
    const paths = named.filter((p) => topFolders.has(p.split('/')[0]));
    expect(paths.length).toBeGreaterThan(40);
    expect(paths.filter((p) => !existsSync(p))).toEqual([]);
  });
});

describe('imports in the code', () => {
  let result: ICruiseResult;
  beforeAll(async () => {
    const output = await cruise(sourceFolders, {
      ...config.options,
      ruleSet: { forbidden: config.forbidden },
      validate: true,
    });
    result = output.output as ICruiseResult;
  });

  it('resolve: every relative import names a file that is there', () => {
    const unresolved = result.modules.flatMap((m) =>
      m.dependencies
        .filter((d) => d.couldNotResolve && d.module.startsWith('.'))
        .map((d) => `${m.source} → ${d.module}`),
    );
    expect(result.modules.length).toBeGreaterThan(100);
    expect(unresolved).toEqual([]);
  });

  it('follow the layer table, with no file loops, drivers on their transport only and no I/O in analysis', () => {
    const violations = result.summary.violations.map(
      (v) =>
        `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (loop: ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`,
    );
    expect(violations).toEqual([]);
  });
});
