import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { InputError } from '../core/errors.js';
import { LAB_ROLES, type LabRole } from './schema.js';

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * `bench lab user add`: a login role in one of the lab's groups, with a generated password written to a pgpass
 * file (mode 600) for that user only, never printed. Run by an admin (a role that may create roles).
 */
export async function addLabUser(
  pool: pg.Pool,
  url: string,
  o: { name: string; role: string; passFile: string },
): Promise<{ name: string; role: LabRole; passFile: string }> {
  if (!ROLE_NAME.test(o.name))
    throw new InputError(`user name "${o.name}": lower-case letters, digits and _ (a PostgreSQL role name)`, [
      { file: 'NAME', message: 'not a role name' },
    ]);
  if (!(LAB_ROLES as readonly string[]).includes(o.role))
    throw new InputError(`--role ${o.role}: one of ${LAB_ROLES.join(', ')}`, [
      { file: '--role', message: 'unknown role' },
    ]);
  const role = o.role as LabRole;
  const password = randomBytes(24).toString('base64url');
  const client = await pool.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [o.name]);
    if (exists.rowCount)
      throw new InputError(`the lab already has a user ${o.name}`, [{ file: 'NAME', message: 'exists' }]);
    // CREATE ROLE takes no bind parameters: the name is checked above, the password quoted by the driver.
    await client.query(
      `CREATE ROLE ${client.escapeIdentifier(o.name)} LOGIN PASSWORD ${client.escapeLiteral(password)} IN ROLE bench_${role}`,
    );
  } finally {
    client.release();
  }
  const { host, port, database } = parseIntoClientConfig(url);
  writeFileSync(o.passFile, `${host ?? 'localhost'}:${port ?? 5432}:${database ?? '*'}:${o.name}:${password}\n`, {
    mode: 0o600,
  });
  return { name: o.name, role, passFile: o.passFile };
}
