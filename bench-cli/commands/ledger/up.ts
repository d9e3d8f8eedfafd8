import { Flags } from '@oclif/core';
import { BenchCommand } from '../../base-command.js';

export interface LedgerUpResult {
  url: string;
  chainId: string;
  accounts: string[];
  dbPath?: string;
  stoppedBy: string;
}

export default class LedgerUp extends BenchCommand {
  static override summary =
    'Run a Ganache JSON-RPC node for a lab (chainId 1337, deterministic accounts) until Ctrl-C.';
  static override description =
    'Accounts come from --mnemonic (default: the public test mnemonic, for test chains only); account 0 is the ' +
    'relayer and owner. With --db the chain state survives restarts. Use the printed URL as --ledger for the other ' +
    '`bench ledger` commands and for certify.';
  static override flags = {
    port: Flags.integer({ description: 'TCP port.', default: 8545, min: 0, max: 65535 }),
    host: Flags.string({ description: 'Interface to listen on.', default: '127.0.0.1' }),
    db: Flags.string({ description: 'Directory for persistent chain state (default: in memory).' }),
    mnemonic: Flags.string({
      description: 'BIP-39 mnemonic of the accounts. Never printed.',
      env: 'BENCH_LEDGER_MNEMONIC',
    }),
    accounts: Flags.integer({ description: 'Number of funded accounts.', default: 10, min: 1, max: 1000 }),
  };

  async run(): Promise<LedgerUpResult> {
    const { flags } = await this.parse(LedgerUp);
    const { startLedgerServer } = await import('../../../ledger/service.js');
    const server = await startLedgerServer({
      port: flags.port,
      host: flags.host,
      dbPath: flags.db,
      mnemonic: flags.mnemonic,
      accounts: flags.accounts,
    });
    this.say(
      `ledger listening on ${server.url}  (chainId ${server.chainId}${server.dbPath ? `, state in ${server.dbPath}` : ''})`,
    );
    this.say(`relayer/owner account 0: ${server.accounts[0]}`);
    this.say('Ctrl-C stops the node.');
    const stoppedBy = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    await server.close();
    this.say(`ledger stopped (${stoppedBy})`);
    return { url: server.url, chainId: server.chainId, accounts: server.accounts, dbPath: server.dbPath, stoppedBy };
  }
}
