// pgpass (node-postgres' own reader of libpq's password file) ships without typings.
declare module 'pgpass' {
  export default function pgpass(
    connInfo: { host?: string; port?: number | string; database?: string; user?: string },
    cb: (password: string | undefined) => void,
  ): void;
}
