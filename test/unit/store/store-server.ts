import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { STORE_HTTP_BASE } from '../../../src/store/http-protocol.js';
import { createStoreHttpHandler, type StoreHttpOptions } from '../../../src/store/http-service.js';
import type { Store } from '../../../src/store/types.js';

/** A plain node HTTP server exposing a store, as the API server does in embedded mode. */
export class StoreServer {
  private server: Server | undefined;
  port = 0;
  /** Watch streams the service has accepted, and those that have since closed (either side). */
  watchStreamsOpened = 0;
  watchStreamsClosed = 0;

  constructor(
    private readonly store: Store,
    private readonly options: StoreHttpOptions = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const handler = createStoreHttpHandler(this.store, this.options);
    const server = createServer((req, res) => {
      if (req.method === 'GET' && new URL(req.url ?? '/', 'http://store').pathname === `${STORE_HTTP_BASE}watch`) {
        this.watchStreamsOpened++;
        res.on('close', () => this.watchStreamsClosed++);
      }
      if (!handler(req, res)) {
        res.writeHead(404);
        res.end('not a store path');
      }
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    await closed;
  }

  /** Drop every connection and listen again on the same port after `downMs`. */
  async restart(downMs = 300): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }
}
