import pg from 'pg';
import PgBoss from 'pg-boss';
import { parseIntoClientConfig } from 'pg-connection-string';
import pgpass from 'pgpass';
import { InputError } from '../core/errors.js';

/**
 * The lab database's URL: `--db`, else BENCH_LAB_DB. A password never travels in a flag (it would sit in the
 * shell's history and every process listing): it comes from the environment (PGPASSWORD, or BENCH_LAB_DB itself)
 * or a file (PGPASSFILE, libpq's pgpass format, which node-postgres reads).
 */
export function labUrl(flag: string | undefined): string {
  const url = flag ?? process.env.BENCH_LAB_DB;
  if (!url)
    throw new InputError(
      'no lab database: give --db URL or set BENCH_LAB_DB',
      [{ file: '--db', message: 'missing' }],
      ['Start a one-machine lab with `bench lab up`, which prints the URL to use.'],
    );
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`${flag !== undefined ? '--db' : 'BENCH_LAB_DB'} is not a URL`, [
      { file: flag !== undefined ? '--db' : 'BENCH_LAB_DB', message: 'not a postgres:// URL' },
    ]);
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol))
    throw new InputError(`the lab database URL must be postgres://…, not ${parsed.protocol}//…`, [
      { file: '--db', message: 'not a postgres:// URL' },
    ]);
  if (flag !== undefined && parsed.password)
    throw new InputError(
      '--db carries a password: it would be kept in shell history and process listings',
      [{ file: '--db', message: 'password in the URL' }],
      ['Put the password in a pgpass file named by PGPASSFILE, or in PGPASSWORD, and give --db without it.'],
    );
  return url;
}

/** The URL with any password masked, for messages and status output. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * A connection's settings for `url`, with its password read when a connection is made: the URL's own, else
 * PGPASSWORD, else the pgpass file (PGPASSFILE or ~/.pgpass) through node-postgres' own reader. The URL is parsed
 * here rather than passed as connectionString: pg lays the parsed URL over the config, which would put an
 * undefined password over the function.
 */
export function connectionConfig(url: string): pg.ClientConfig {
  const config = parseIntoClientConfig(url);
  if (config.password) return config;
  const { host, port, database, user } = config;
  const password = () =>
    new Promise<string>((resolve, reject) => {
      if (process.env.PGPASSWORD) return resolve(process.env.PGPASSWORD);
      pgpass({ host, port: port ?? 5432, database, user }, (found) => {
        if (found) return resolve(found);
        // Said here: the server's own answer to an empty password is a SASL message that names nothing useful.
        reject(
          new InputError(
            `no password for ${user}@${host}:${port ?? 5432}/${database}: set PGPASSFILE (a pgpass file) or PGPASSWORD`,
            [{ file: 'PGPASSFILE', message: 'no matching entry' }],
            ['`bench lab up` prints the PGPASSFILE to export for a one-machine lab.'],
          ),
        );
      });
    });
  return { ...config, password };
}

export function labPool(url: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ ...connectionConfig(url), max, application_name: 'bench-lab' });
  // A dropped connection (the server restarting) surfaces on the next query; an idle client's error must not crash.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` in one transaction on a client of the pool. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/**
 * A pg-boss client of the lab (the job queue on PostgreSQL). Only `bench lab init` migrates its schema; agents
 * supervise (expired leases back to the queue), other commands only send. pg-boss hands its options to pg.Pool, so
 * the password function goes through.
 */
export function queueClient(
  url: string,
  o: { migrate?: boolean; supervise?: boolean; maintenanceS?: number; name?: string } = {},
): PgBoss {
  const boss = new PgBoss({
    ...(connectionConfig(url) as PgBoss.ConstructorOptions),
    migrate: o.migrate ?? false,
    supervise: o.supervise ?? false,
    schedule: false,
    max: 2,
    ...(o.maintenanceS !== undefined && { maintenanceIntervalSeconds: o.maintenanceS }),
    application_name: o.name ?? 'bench-lab',
  });
  return boss;
}

/** Runs `fn` with a pool on the lab database named by `--db` (or $BENCH_LAB_DB), closed afterwards. */
export async function withLab<T>(
  dbFlag: string | undefined,
  fn: (pool: pg.Pool, url: string) => Promise<T>,
): Promise<T> {
  const url = labUrl(dbFlag);
  const pool = labPool(url);
  try {
    return await fn(pool, url);
  } finally {
    await pool.end();
  }
}

/** withLab with a started pg-boss client beside the pool (sending and cancelling jobs). */
export function withLabQueue<T>(
  dbFlag: string | undefined,
  fn: (pool: pg.Pool, boss: PgBoss) => Promise<T>,
): Promise<T> {
  return withLab(dbFlag, async (pool, url) => {
    const boss = queueClient(url);
    boss.on('error', () => undefined);
    try {
      await boss.start();
      return await fn(pool, boss);
    } finally {
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
    }
  });
}
