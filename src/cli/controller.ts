import { parseArgs, flagString, UsageError, type Command } from './command.js';
import { LOG_FLAGS, LOG_USAGE, loggerFromArgs } from './log-flags.js';
import { StoreError } from '../store/errors.js';
import { LocalController, type L3Mode } from '../controller/controller.js';
import type { Encap } from '../pipeline/topology.js';
import { controllerMetrics } from '../metrics/controller-metrics.js';
import { serveMetrics, type MetricsServer } from '../metrics/http.js';
import { createRegistry } from '../metrics/registry.js';
import { parseListen } from './server.js';
import { version } from './version.js';

/** How long a starting controller keeps retrying an unreachable store before it gives up. */
const START_RETRY_MS = 60_000;

const usage = `usage: wyvern controller --chassis NAME --nb URL --ovsdb unix:PATH|tcp:IP:PORT --tunnel-ip IP
                         [--bridge br-int] [--encap geneve|vxlan] [--openflow unix:PATH|tcp:IP:PORT]
                         [--l3-mode proactive|reactive] [--gateway] [--bridge-mappings physnet:br[,...]] [--no-tunnel-probe]
                         [--datapath-type netdev|system] [--lease-ttl SECONDS]
                         [--metrics-listen HOST:PORT] [--status-interval SECONDS]
                         [--log-format json|text] [--log-level LEVEL]

The local controller of one chassis (compute node). It registers the chassis in the north-bound
store under a lease, ensures the integration bridge (fail-mode secure, OpenFlow 1.3) and one
flow-based tunnel port, binds the VM interfaces it finds in OVSDB (external_ids:iface-id = Neutron
port id), follows the store from a revision, and keeps the bridge's flows equal to the pipeline
compiled from the part of the topology its ports need. It answers its ports' DHCP itself.

  --chassis NAME        this chassis' name (binding:host_id of its ports)
  --nb URL              north-bound store: the server's http://HOST:PORT, or etcd:URL[,URL],
                        or sqlite:PATH (same machine as the server only)
  --ovsdb TARGET        this chassis' ovsdb-server
  --tunnel-ip IP        underlay address other chassis tunnel to
  --bridge NAME         integration bridge (default br-int)
  --encap TYPE          geneve (default) or vxlan
  --openflow TARGET     OpenFlow connection to the bridge (default: the bridge's mgmt socket next
                        to the ovsdb socket, unix:DIR/BRIDGE.mgmt)
  --l3-mode MODE        proactive (default) or reactive routing
  --gateway             this chassis may host external gateways (SNAT)
  --bridge-mappings M   physnet:bridge pairs for flat/VLAN networks
  --no-tunnel-probe     do not keep remote tunnel endpoints resolved in the switch ahead of
                        traffic (then the first packet to a chassis may be lost; tunnel-probe.ts)
  --datapath-type T     datapath of the integration bridge (default netdev, the userspace one)
  --lease-ttl SECONDS   chassis registration lease (default 10)
  --metrics-listen A    serve Prometheus metrics at http://A/metrics (HOST:PORT, port 0: a
                        free one; docs/metrics.md); prints "metrics: URL"
  --status-interval S   look at this controller every S seconds and publish its status record
                        for 'wyvern status' when something changed (default 2; 0: never)
${LOG_USAGE}

It prints "ready" once the switch holds the compiled pipeline. SIGTERM/SIGINT stop it without
touching the switch's flows or the store: a restarted controller takes over without a gap.`;

function parseMappings(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const pair of text.split(',')) {
    const [physnet, bridge] = pair.split(':');
    if (!physnet || !bridge) throw new UsageError(`bad bridge mapping '${pair}' (want physnet:bridge)`);
    out[physnet] = bridge;
  }
  return out;
}

export const controllerCommand: Command = {
  name: 'controller',
  summary: 'run the local controller of one chassis (programs its Open vSwitch)',
  usage,
  async run(argv) {
    const args = parseArgs(argv, {
      values: ['chassis', 'nb', 'ovsdb', 'tunnel-ip', 'bridge', 'encap', 'openflow', 'l3-mode', 'bridge-mappings', 'datapath-type', 'lease-ttl', 'metrics-listen', 'status-interval', ...LOG_FLAGS],
      booleans: ['gateway', 'no-tunnel-probe'],
    });
    if (args.positional.length > 0) throw new UsageError(`unexpected argument ${args.positional[0]}`);
    const need = (name: string): string => {
      const v = flagString(args, name);
      if (!v) throw new UsageError(`--${name} is required`);
      return v;
    };
    const encap = flagString(args, 'encap', 'geneve');
    if (encap !== 'geneve' && encap !== 'vxlan') throw new UsageError('--encap must be geneve or vxlan');
    const l3Mode = flagString(args, 'l3-mode', 'proactive');
    if (l3Mode !== 'proactive' && l3Mode !== 'reactive') throw new UsageError('--l3-mode must be proactive or reactive');
    const ttl = Number(flagString(args, 'lease-ttl', '10'));
    if (!Number.isInteger(ttl) || ttl < 2) throw new UsageError('--lease-ttl must be an integer >= 2');
    const logger = loggerFromArgs(args, 'controller', { chassis: need('chassis') });
    const log = (line: string): void => logger.info(line);
    const statusInterval = Number(flagString(args, 'status-interval', '2'));
    if (!Number.isFinite(statusInterval) || statusInterval < 0) throw new UsageError('--status-interval must be a number of seconds >= 0');
    const metricsListen = flagString(args, 'metrics-listen');
    const listenAt = metricsListen === undefined ? undefined : parseListen(metricsListen);
    const registry = createRegistry({ process: true });
    const metrics = listenAt ? controllerMetrics(registry) : undefined;
    let metricsServer: MetricsServer | undefined;
    if (listenAt) {
      metricsServer = await serveMetrics(registry, listenAt.host, listenAt.port);
      process.stdout.write(`metrics: ${metricsServer.url}\n`);
    }
    const make = (): LocalController => new LocalController({
      chassis: need('chassis'),
      nb: need('nb'),
      ovsdb: need('ovsdb'),
      tunnelIp: need('tunnel-ip'),
      bridge: flagString(args, 'bridge'),
      encap: encap as Encap,
      openflow: flagString(args, 'openflow'),
      l3Mode: l3Mode as L3Mode,
      gateway: args.flags.get('gateway') === true,
      tunnelProbe: !args.flags.has('no-tunnel-probe'),
      bridgeMappings: parseMappings(flagString(args, 'bridge-mappings')),
      datapathType: flagString(args, 'datapath-type'),
      leaseTtlSeconds: ttl,
      version: version(),
      log,
      observer: metrics?.observer,
      statusIntervalMs: statusInterval * 1000,
      metricsUrl: metricsServer?.url,
    });
    // The store may be briefly unreachable while the controller starts (a server restarting, an
    // etcd hiccup): start over with backoff instead of exiting, for up to START_RETRY_MS.
    let controller = make();
    const startDeadline = Date.now() + START_RETRY_MS;
    for (let delay = 200; ; delay = Math.min(delay * 2, 2_000)) {
      controller.on('error', (err) => logger.error({ err }, 'error'));
      try {
        await controller.start();
        break;
      } catch (err) {
        if (!(err instanceof StoreError) || Date.now() + delay > startDeadline) throw err;
        logger.warn({ err }, `start failed (${err.message}); retrying in ${delay} ms`);
        await controller.stop().catch(() => undefined);
        await new Promise((r) => setTimeout(r, delay));
        controller = make();
      }
    }
    metrics?.attach(() => controller.probe());
    const s = controller.stats();
    process.stdout.write(`ready: chassis ${need('chassis')}, ${s.installedFlows} flows, ${s.localPorts} local ports\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await controller.stop();
    await metricsServer?.close();
    return 0;
  },
};
