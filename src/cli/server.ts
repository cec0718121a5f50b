/** `wyvern server`: the Neutron v2.0 API on the north-bound store. */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStoreHttpHandler } from '../store/http-service.js';
import { STORE_ROUTES } from '../model/subjects.js';
import { openStore } from '../store/open.js';
import { NeutronApi } from '../server/app.js';
import { createRegistry } from '../metrics/registry.js';
import { instrumentServer } from '../metrics/server-metrics.js';
import { publicStoreUrl, registerServer } from '../status/server-registration.js';
import { makeAuthenticator } from '../server/auth.js';
import { uiHandler } from '../ui/handler.js';
import { version } from './version.js';
import { ConfigError, loadConfigFile, makeConfig, type ServerConfig } from '../server/config.js';
import { flagString, parseArgs, UsageError, type Command } from './command.js';
import { LOG_FLAGS, LOG_USAGE, loggerFromArgs } from './log-flags.js';

const usage = `usage: wyvern server [--listen HOST:PORT] [--store URL] [--auth noauth|keystone]
                     [--config FILE] [--default-project ID] [--data-dir DIR]
                     [--log-format json|text] [--log-level LEVEL]

Serves the Neutron v2.0 API (networks, subnets, ports, ...) on the north-bound store.

  --listen HOST:PORT     address to listen on (default 127.0.0.1:9696; port 0 picks a free one)
  --store URL            sqlite:PATH | etcd:URL[,URL] | memory: (default sqlite:DATA_DIR/nb.sqlite)
  --auth MODE            noauth (X-Project-Id header, else the default project) or keystone
  --keystone-url URL     Keystone base URL for --auth keystone
  --config FILE          JSON file with ServerConfig fields (flags override it)
  --default-project ID   noauth project for requests without X-Project-Id (default admin)
  --data-dir DIR         where the default sqlite store lives (default ~/.local/share/wyvern)
${LOG_USAGE}

Logs go to stderr, one line per event: each API request (req_id, method, url, status, ms; the
req_id is the X-Openstack-Request-Id header of the answer) and every unexpected error.

Serves Prometheus metrics at GET /metrics and the topology page at /ui/ on the same address
(docs/metrics.md, docs/ui.md).
Prints "listening on http://HOST:PORT" when ready; stops on SIGINT/SIGTERM.`;

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  if (!m) throw new UsageError(`--listen needs HOST:PORT, not ${text}`);
  const port = Number(m[2]);
  if (port > 65535) throw new UsageError(`bad port in --listen ${text}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

export const serverCommand: Command = {
  name: 'server',
  summary: 'run the Neutron v2.0 API server on the north-bound store',
  usage,
  async run(argv) {
    const args = parseArgs(argv, { values: ['listen', 'store', 'auth', 'config', 'default-project', 'data-dir', 'keystone-url', ...LOG_FLAGS] });
    const logger = loggerFromArgs(args, 'server');
    if (args.positional.length > 0) throw new UsageError(`unexpected argument ${args.positional[0]}`);
    const configFile = flagString(args, 'config');
    let fromFile: Partial<ServerConfig> = {};
    try {
      if (configFile) fromFile = loadConfigFile(configFile);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    const dataDir = flagString(args, 'data-dir') ?? path.join(os.homedir(), '.local', 'share', 'wyvern');
    const auth = flagString(args, 'auth') ?? fromFile.auth ?? 'noauth';
    if (auth !== 'noauth' && auth !== 'keystone') throw new UsageError(`--auth must be noauth or keystone`);
    const keystoneUrl = flagString(args, 'keystone-url');
    let storeUrl = flagString(args, 'store') ?? fromFile.store ?? 'sqlite:';
    if (storeUrl === 'sqlite:') {
      mkdirSync(dataDir, { recursive: true });
      storeUrl = `sqlite:${path.join(dataDir, 'nb.sqlite')}`;
    }
    const listen = flagString(args, 'listen') ?? fromFile.listen ?? '127.0.0.1:9696';
    const { host, port } = parseListen(listen);
    const config: Partial<ServerConfig> = {
      ...fromFile,
      listen,
      store: storeUrl,
      auth,
      defaultProject: flagString(args, 'default-project') ?? fromFile.defaultProject ?? 'admin',
      ...(keystoneUrl ? { keystone: { ...(fromFile.keystone ?? {}), url: keystoneUrl } } : {}),
    };
    try {
      makeConfig(config);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    // Metrics (GET /metrics, docs/metrics.md) measure the store every part of the server uses.
    const metrics = instrumentServer(await openStore(storeUrl), createRegistry({ process: true }));
    const store = metrics.store;
    // The store's HTTP service (remote controllers: `--nb http://HOST:PORT`) goes in front of the API.
    const api = new NeutronApi(store, {
      config,
      onError: (err) => logger.error({ err }, 'unexpected error'),
      onResponse: (info) => {
        metrics.onResponse(info);
        if (logger.isLevelEnabled('info')) {
          const ms = Math.round((performance.now() - info.startedAt) * 1000) / 1000;
          logger.info({ req_id: info.requestId, method: info.req.method, url: info.req.url, status: info.status, ms }, 'request');
        }
      },
      preHandlers: [metrics.handler, createStoreHttpHandler(store, { routes: STORE_ROUTES })],
    });
    metrics.attach(api);
    // The topology page at /ui/ (docs/ui.md).
    api.addPreHandler(uiHandler({ store, auth: makeAuthenticator(api.config) }));
    const { server, url } = await api.listen(host, port);
    // For `wyvern status`: this server's record, and a liveness key under a lease.
    const registration = await registerServer(store, { url, storeUrl, version: version(), log: (line) => logger.warn(line) });
    logger.info({ url, store: publicStoreUrl(storeUrl), metrics: `${url}/metrics` }, 'listening');
    process.stdout.write(`listening on ${url}\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        server.closeAllConnections();
        server.close(() => resolve());
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await registration.stop();
    await store.close();
    return 0;
  },
};
