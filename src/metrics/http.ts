/**
 * Serving a registry in the Prometheus text format: as a handler mounted in front of another
 * server (the API server's `GET /metrics`), or as a small server of its own (a controller's
 * `--metrics-listen HOST:PORT`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export const METRICS_PATH = '/metrics';

/** Answers `GET /metrics` (and HEAD) with the registry's exposition; false for any other path. */
export function metricsHandler(registry: Registry): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    if (pathname !== METRICS_PATH && pathname !== `${METRICS_PATH}/`) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': '0' }).end();
      return true;
    }
    registry.metrics().then(
      (text) => {
        const body = Buffer.from(text);
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        const body = Buffer.from(`# metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
        res.end(body);
      },
    );
    return true;
  };
}

export interface MetricsServer {
  readonly server: Server;
  /** `http://HOST:PORT/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

/** A server that answers only `/metrics` (404 elsewhere). Port 0 picks a free one. */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const handle = metricsHandler(registry);
  const server = createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(404, { 'Content-Length': '0' }).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${h}:${addr.port}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
