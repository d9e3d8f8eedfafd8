import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { NotFoundError } from '../core/errors.js';
import { loadYamlFile } from '../core/files/load-yaml.js';
import { PACKAGE_ROOT } from '../core/version.js';
import { type Profile, profileSchema } from './schema.js';

export const LIBRARY_DIR = join(PACKAGE_ROOT, 'profiles', 'library');

let cache: Map<string, Profile> | undefined;

export function loadProfileFile(file: string): Profile {
  return loadYamlFile(file, profileSchema);
}

/** Every built-in profile, validated once per process. */
export function listBuiltinProfiles(): Profile[] {
  if (!cache) {
    cache = new Map();
    for (const f of readdirSync(LIBRARY_DIR)
      .filter((n) => n.endsWith('.yaml'))
      .sort()) {
      const p = loadProfileFile(join(LIBRARY_DIR, f));
      if (p.name !== basename(f, '.yaml')) {
        throw new Error(`${join(LIBRARY_DIR, f)}: profile name ${p.name} does not match its file name`);
      }
      cache.set(p.name, p);
    }
  }
  return [...cache.values()];
}

export function getBuiltinProfile(name: string): Profile {
  const p = listBuiltinProfiles().find((x) => x.name === name);
  if (!p) {
    throw new NotFoundError(
      `no built-in profile named ${name}`,
      [{ file: name, message: 'unknown profile' }],
      [
        `Built-in profiles: ${listBuiltinProfiles()
          .map((x) => x.name)
          .join(', ')}`,
      ],
    );
  }
  return p;
}

/**
 * The identity a load-identifying meter can recover from a signature: the on-board charger for EVs (two EVs
 * with the same charger look the same on the wire), the profile name otherwise.
 */
export function signatureId(p: Profile): string {
  return p.ev ? p.ev.charger : p.name;
}
