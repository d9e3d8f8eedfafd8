import { Socket } from 'node:net';
import { RigError } from '../../core/errors.js';
import { BaseTransport } from './transport.js';

/** Raw TCP socket transport (e.g. SCPI on port 5025). */
export class TcpTransport extends BaseTransport {
  private socket?: Socket;
  private closing = false;
  constructor(
    device: string,
    private readonly host: string,
    private readonly port: number,
    opts: { terminator?: string | null; timeoutMs?: number } = {},
  ) {
    super(device, opts.terminator === undefined ? '\n' : opts.terminator, opts.timeoutMs ?? 1000);
  }
  get description(): string {
    return `tcp:${this.host}:${this.port}`;
  }
  open(): Promise<void> {
    this.closing = false;
    return new Promise((resolve, reject) => {
      const s = new Socket();
      s.setNoDelay(true);
      s.once('error', (e) =>
        reject(new RigError(`cannot connect ${this.description}: ${e.message}`, { device: this.device, cause: e })),
      );
      s.connect(this.port, this.host, () => {
        this.socket = s;
        s.removeAllListeners('error');
        s.on('error', () => undefined);
        s.on('data', (b) => this.onBytes(b));
        s.on('close', () => {
          this.socket = undefined;
          if (this.closing) return;
          const err = new RigError('connection closed', { device: this.device, code: 'DISCONNECTED' });
          this.failWaiters(err);
          this.emit('disconnect', err);
        });
        resolve();
      });
    });
  }
  protected sendRaw(data: Buffer): Promise<void> {
    const s = this.socket;
    if (!s) return Promise.reject(new RigError('not connected', { device: this.device, code: 'DISCONNECTED' }));
    return new Promise((resolve, reject) => s.write(data, (e) => (e ? reject(e) : resolve())));
  }
  async close(): Promise<void> {
    this.closing = true;
    this.failWaiters(new RigError('transport closed', { device: this.device, code: 'CLOSED' }));
    this.socket?.destroy();
    this.socket = undefined;
  }
}
