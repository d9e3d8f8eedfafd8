import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const SNAPSHOT = join(import.meta.dirname, 'command-snapshot.json');

interface ManifestFlag {
  name: string;
  type: string;
  char?: string;
  required?: boolean;
  multiple?: boolean;
  default?: unknown;
  options?: string[];
}

/**
 * Every command's flags and arguments, from the oclif manifest generated at build. A flag renamed, removed or
 * retyped by accident fails here; an intended change is recorded with UPDATE_GOLDEN=1.
 */
function snapshot() {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
    commands: Record<string, { flags: Record<string, ManifestFlag>; args: Record<string, { name: string; required?: boolean; options?: string[] }> }>;
  };
  return Object.fromEntries(
    Object.keys(manifest.commands)
      .sort()
      .map((id) => {
        const c = manifest.commands[id]!;
        return [
          id,
          {
            flags: Object.values(c.flags)
              .map((f) => ({ name: f.name, type: f.type, char: f.char, required: f.required ?? false, multiple: f.multiple ?? false, options: f.options }))
              .sort((a, b) => a.name.localeCompare(b.name)),
            args: Object.values(c.args ?? {}).map((a) => ({ name: a.name, required: a.required ?? false, options: a.options })),
          },
        ];
      }),
  );
}

describe('command snapshot', () => {
  it('matches test/golden/command-snapshot.json', () => {
    const actual = `${JSON.stringify(snapshot(), null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(SNAPSHOT, actual);
    expect(actual).toBe(readFileSync(SNAPSHOT, 'utf8'));
  });
});
