/**
 * The one place that knows how to run `wyvern server`, `wyvern controller` and etcd for the
 * sandbox: the command lines, the readiness signals, and which wyvern entry point to use.
 * When the real server or controller changes its flags, this is the file to edit.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Launch } from './processes.js';

/**
 * Overrides the wyvern command: a JSON array, e.g. `["node","dist/src/cli/main.js"]`. Tests use
 * it to stand a fake in for commands that do not exist yet.
 */
export const WYVERN_COMMAND_ENV = 'WYVERN_SANDBOX_WYVERN';

/** How to run the `wyvern` CLI from here: this Node binary plus the current entry point. */
export function wyvernCommand(): readonly string[] {
  const override = process.env[WYVERN_COMMAND_ENV];
  if (override) {
    const argv = JSON.parse(override) as unknown;
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
      throw new Error(`${WYVERN_COMMAND_ENV} must be a JSON array of strings`);
    }
    return argv as string[];
  }
  const js = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  if (existsSync(js)) return [process.execPath, js];
  // Running from the TypeScript sources (tsx, vitest): load them through tsx.
  const ts = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
  return [process.execPath, '--import', tsxLoader(), ts];
}

/** File URL of tsx's ESM loader (for `node --import`), resolved from this package. */
export function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

function wyvern(args: readonly string[]): Launch {
  const [file, ...prefix] = wyvernCommand();
  return { file, args: [...prefix, ...args] };
}

export interface ServerLaunchOptions {
  /** `127.0.0.1:PORT` */
  readonly listen: string;
  /** `sqlite:PATH` or `etcd:URL[,URL]` */
  readonly store: string;
}

/** `wyvern server --listen HOST:PORT --store STORE` (noauth, the server's default). */
export function serverLaunch(o: ServerLaunchOptions): Launch {
  return wyvern(['server', '--listen', o.listen, '--store', o.store, '--log-format', 'text']);
}

/** The server is ready when `GET /` (the Neutron versions document) answers 2xx. */
export function serverReadyUrl(apiUrl: string): string {
  return `${apiUrl}/`;
}

import type { Encap, L3Mode } from '../pipeline/topology.js';
export type { Encap, L3Mode };

export interface ControllerLaunchOptions {
  readonly chassis: string;
  /** The API server's URL (embedded store). */
  readonly nb: string;
  /** `unix:DIR/hvN/db.sock` */
  readonly ovsdb: string;
  /** `unix:DIR/hvN/br-int.mgmt` */
  readonly openflow: string;
  readonly tunnelIp: string;
  readonly bridge?: string;
  readonly encap?: Encap;
  readonly l3Mode?: L3Mode;
  readonly gateway?: boolean;
  /** `127.0.0.1:PORT`: serve metrics there (`--metrics-listen`). */
  readonly metricsListen?: string;
  /** physnet → bridge (`--bridge-mappings public:br-ex`). */
  readonly bridgeMappings?: Readonly<Record<string, string>>;
  /** False: `--no-tunnel-probe` (tunnel endpoints resolved only when traffic needs them). */
  readonly tunnelProbe?: boolean;
}

/**
 * `wyvern controller --chassis NAME --nb URL --ovsdb unix:PATH --tunnel-ip IP --bridge br-int
 *  --openflow unix:PATH [--encap E] [--l3-mode M] [--gateway] [--bridge-mappings P:B,...]
 *  [--no-tunnel-probe]`
 */
export function controllerLaunch(o: ControllerLaunchOptions): Launch {
  return wyvern([
    'controller',
    '--chassis', o.chassis,
    '--nb', o.nb,
    '--ovsdb', o.ovsdb,
    '--tunnel-ip', o.tunnelIp,
    '--bridge', o.bridge ?? 'br-int',
    '--openflow', o.openflow,
    ...(o.encap ? ['--encap', o.encap] : []),
    ...(o.l3Mode ? ['--l3-mode', o.l3Mode] : []),
    ...(o.gateway ? ['--gateway'] : []),
    ...(o.metricsListen ? ['--metrics-listen', o.metricsListen] : []),
    ...(o.bridgeMappings && Object.keys(o.bridgeMappings).length > 0
      ? ['--bridge-mappings', Object.entries(o.bridgeMappings).map(([net, br]) => `${net}:${br}`).join(',')]
      : []),
    ...(o.tunnelProbe === false ? ['--no-tunnel-probe'] : []),
    '--log-format', 'text',
  ]);
}

/**
 * A controller is ready when it prints its ready line, `ready: chassis hv1, 42 flows, ...`
 * (also accepted: `ready chassis=hv1`); stdout and stderr both go to its log file.
 */
export function controllerReadyPattern(chassis: string): RegExp {
  return new RegExp(`\\bready\\b.*\\bchassis[ =:]+${chassis}\\b`);
}

export interface EtcdLaunchOptions {
  readonly dataDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

/** A single-member etcd on 127.0.0.1 for `--store etcd`. Ready when `GET /health` answers. */
export function etcdLaunch(o: EtcdLaunchOptions): Launch {
  const client = `http://127.0.0.1:${o.clientPort}`;
  const peer = `http://127.0.0.1:${o.peerPort}`;
  return {
    file: 'etcd',
    args: [
      '--name', 'wyvern-sandbox',
      '--data-dir', o.dataDir,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `wyvern-sandbox=${peer}`,
    ],
  };
}
