import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { InputError, RigError } from '../core/errors.js';
import { freePort } from '../rigs/sim-up.js';

/** A one-machine lab's PostgreSQL cluster (`bench lab up`), and how to reach it. */
export interface LocalLab {
  dir: string;
  port: number;
  /** The lab database's URL, without a password: that is in `passFile` (libpq's pgpass format, mode 600). */
  url: string;
  passFile: string;
  /** Whether this call started it (false: it was running already). */
  started: boolean;
}

const ADMIN = 'bench';
export const LAB_DATABASE = 'bench_lab';
const META = 'lab.json';

/**
 * The directory of Debian's PostgreSQL server binaries (initdb, pg_ctl), newest major first; BENCH_PG_BIN overrides.
 * Debian keeps them off PATH, under /usr/lib/postgresql/<major>/bin.
 */
export function postgresBinDir(): string {
  const override = process.env.BENCH_PG_BIN;
  if (override) return override;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => existsSync(join(root, d, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!majors.length)
    throw new RigError('PostgreSQL server binaries not found (no /usr/lib/postgresql/<major>/bin/initdb)', {
      device: 'postgresql',
      code: 'MISSING',
    });
  return join(root, majors[0]!, 'bin');
}

/**
 * initdb refuses to run as root: as root the cluster belongs to the `postgres` system user Debian's package creates,
 * and the server commands run as that user (runuser).
 */
function asServerUser(cmd: string, args: string[], opts: { input?: string } = {}): string {
  const root = process.getuid?.() === 0;
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return execFileSync(file, argv, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line)
    throw new RigError('running as root, but there is no `postgres` system user to own the lab cluster', {
      device: 'postgresql',
      code: 'MISSING',
    });
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Starts (creating on first use) the lab's cluster under `dir`, listening on 127.0.0.1 only. */
export async function labUp(opts: { dir: string; port?: number }): Promise<LocalLab> {
  const dir = resolve(opts.dir);
  const data = join(dir, 'data');
  const passFile = join(dir, 'pgpass');
  const bin = postgresBinDir();
  const owner = serverUser();
  mkdirSync(dir, { recursive: true });
  const meta = existsSync(join(dir, META))
    ? (JSON.parse(readFileSync(join(dir, META), 'utf8')) as { port: number })
    : undefined;
  const port = opts.port ?? meta?.port ?? (await freePort());
  if (!existsSync(join(data, 'PG_VERSION'))) {
    if (owner) {
      chownSync(dir, owner.uid, owner.gid);
      // The server user must reach its directory: every parent needs search permission for others.
      for (let p = resolve(dir, '..'); p !== '/'; p = resolve(p, '..'))
        if ((statSync(p).mode & 0o001) === 0)
          throw new InputError(`the lab directory ${dir} is inside ${p}, which the postgres user cannot enter`, [
            { file: dir, message: `${p} has no search permission for others` },
          ]);
    }
    const password = randomBytes(24).toString('base64url');
    const pwFile = join(dir, '.initdb-password');
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (owner) chownSync(pwFile, owner.uid, owner.gid);
    try {
      asServerUser(join(bin, 'initdb'), [
        '-D',
        data,
        '-U',
        ADMIN,
        `--pwfile=${pwFile}`,
        '--auth-local=scram-sha-256',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--no-instructions',
      ]);
    } finally {
      writeFileSync(pwFile, '');
    }
    // Any port: the cluster keeps its password when `--port` moves it.
    writeFileSync(passFile, `127.0.0.1:*:*:${ADMIN}:${password}\n`, { mode: 0o600 });
  }
  chmodSync(passFile, 0o600);
  writeFileSync(join(dir, META), `${JSON.stringify({ port }, null, 2)}\n`);
  let started = false;
  if (!running(bin, data)) {
    asServerUser(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'postgres.log'),
      '-w',
      '-o',
      `-p ${port} -k ${data} -c listen_addresses=127.0.0.1`,
      'start',
    ]);
    started = true;
  }
  const url = `postgres://${ADMIN}@127.0.0.1:${port}/${LAB_DATABASE}`;
  await ensureDatabase(port, passFile);
  return { dir, port, url, passFile, started };
}

/** Stops the lab's cluster (fast shutdown: open sessions are ended, the data is safe). */
export function labDown(dir: string): boolean {
  const data = join(resolve(dir), 'data');
  const bin = postgresBinDir();
  if (!running(bin, data)) return false;
  asServerUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  return true;
}

function running(bin: string, data: string): boolean {
  if (!existsSync(join(data, 'PG_VERSION'))) return false;
  try {
    asServerUser(join(bin, 'pg_ctl'), ['-D', data, 'status']);
    return true;
  } catch {
    return false;
  }
}

async function ensureDatabase(port: number, passFile: string): Promise<void> {
  const password = readFileSync(passFile, 'utf8').trim().split(':').slice(4).join(':');
  const client = new pg.Client({ host: '127.0.0.1', port, user: ADMIN, password, database: 'postgres' });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [LAB_DATABASE]);
    if (!found.rowCount) await client.query(`CREATE DATABASE ${LAB_DATABASE}`);
  } finally {
    await client.end();
  }
}
