import { loadYamlFile } from '../core/files/load-yaml.js';
import { type RigConfig, rigSchema } from './schema.js';

/** Reads and validates a rig file (problems as `file:line:column field: message`, exit 2). */
export function loadRigFile(file: string): RigConfig {
  return loadYamlFile(file, rigSchema);
}
