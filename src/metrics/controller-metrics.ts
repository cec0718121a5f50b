/**
 * A controller's metrics (`wyvern controller --metrics-listen HOST:PORT`, docs/metrics.md).
 *
 * Nothing here runs per packet or per flow mod: counters the controller keeps anyway (packet-ins
 * by punt reason, flow mods, syncs) are copied into the registry when Prometheus scrapes, and
 * the installed flows are counted by stage then too. Only bundles and sync passes are observed as
 * they happen (a histogram observation each, through `ControllerObserver`).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ControllerObserver, ControllerProbe } from '../controller/probe.js';
import { decodeGroupId } from '../pipeline/conventions.js';
import { STAGE_LIST, stageOfTable } from '../pipeline/stages.js';
import { PREFIX } from './registry.js';

const P = `${PREFIX}controller_`;

/** Seconds buckets for bundles and sync passes: 0.5 ms .. 10 s. */
export const CONTROLLER_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Punt reasons a packet-in is counted under (the pipeline's punt kinds, and `unknown`). */
export const PUNT_REASONS = ['dhcp', 'icmp_echo', 'ttl_exceeded', 'no_route', 'reactive_miss', 'unknown'] as const;

export interface ControllerMetrics {
  /** Give this to the controller's options (`observer`). */
  readonly observer: ControllerObserver;
  /** Where the numbers read at scrape time come from (set once the controller exists). */
  attach(probe: () => ControllerProbe): void;
}

export function controllerMetrics(registry: Registry): ControllerMetrics {
  let source: (() => ControllerProbe) | undefined;
  // One probe per scrape, shared by every collector of that scrape (they all run in one turn
  // of the event loop: none of them waits for I/O).
  let cached: ControllerProbe | undefined;
  const probe = (): ControllerProbe | undefined => {
    if (!source) return undefined;
    if (cached === undefined) {
      cached = source();
      setImmediate(() => (cached = undefined));
    }
    return cached;
  };
  const registers = [registry];

  const gauge = (name: string, help: string, read: (p: ControllerProbe) => number): void => {
    new Gauge({
      name: P + name,
      help,
      registers,
      collect() {
        const p = probe();
        if (p) this.set(read(p));
      },
    });
  };
  /** A counter mirroring a total the controller keeps (set at scrape; never goes down). */
  const mirror = (name: string, help: string, read: (p: ControllerProbe) => number): void => {
    new Counter({
      name: P + name,
      help,
      registers,
      collect() {
        const p = probe();
        if (!p) return;
        this.reset();
        this.inc(read(p));
      },
    });
  };

  new Gauge({
    name: `${P}info`,
    help: 'Constant 1, labelled with the chassis, version, L3 mode and gateway role.',
    labelNames: ['chassis', 'version', 'l3_mode', 'gateway'] as const,
    registers,
    collect() {
      const p = probe();
      if (!p) return;
      this.reset();
      this.set({ chassis: p.chassis, version: p.version, l3_mode: p.l3Mode, gateway: String(p.gateway) }, 1);
    },
  });
  gauge('applied_revision', 'North-bound revision whose state the switch holds (acknowledged).', (p) => p.appliedRevision);
  gauge('seen_revision', 'Newest north-bound revision the controller has seen through its watches.', (p) => p.seenRevision);
  gauge('revision_lag', 'Revisions seen but not yet applied to the switch (seen - applied).', (p) => Math.max(0, p.seenRevision - p.appliedRevision));
  gauge('desired_flows', 'Flows the compiled pipeline wants on the switch.', (p) => p.stats.desiredFlows);
  gauge('local_ports', 'VM ports plugged into this chassis and bound.', (p) => p.stats.localPorts);
  gauge('networks', 'Networks this chassis holds (reachable from its local ports).', (p) => p.stats.networks);

  new Gauge({
    name: `${P}flows`,
    help: 'Flows installed on the integration bridge, by pipeline stage (as mirrored; reactive flows not included).',
    labelNames: ['stage'] as const,
    registers,
    collect() {
      const p = probe();
      if (!p) return;
      const counts = new Map<string, number>(STAGE_LIST.map((s) => [s.name, 0]));
      for (const f of p.installed?.flows.values() ?? []) {
        const name = stageOfTable(f.tableId)?.name ?? `table_${f.tableId}`;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      this.reset();
      for (const [stage, n] of counts) this.set({ stage }, n);
    },
  });
  new Gauge({
    name: `${P}groups`,
    help: 'Groups installed on the integration bridge, by kind (flood, local_flood, unknown).',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      const p = probe();
      if (!p) return;
      const counts = new Map<string, number>([['flood', 0], ['local_flood', 0]]);
      for (const id of p.installed?.groups.keys() ?? []) {
        const kind = decodeGroupId(id).kind;
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
      }
      this.reset();
      for (const [kind, n] of counts) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: `${P}connection_up`,
    help: '1 when the connection is up: openflow (the bridge) and ovsdb (ovsdb-server).',
    labelNames: ['connection'] as const,
    registers,
    collect() {
      const p = probe();
      if (!p) return;
      this.set({ connection: 'openflow' }, p.openflow === 'connected' ? 1 : 0);
      this.set({ connection: 'ovsdb' }, p.ovsdb === 'connected' || p.ovsdb === 'unknown' ? 1 : 0);
    },
  });
  new Counter({
    name: `${P}reconnects_total`,
    help: 'Times a connection came up again after the first time: openflow, ovsdb.',
    labelNames: ['connection'] as const,
    registers,
    collect() {
      const p = probe();
      if (!p) return;
      this.reset();
      this.inc({ connection: 'openflow' }, p.openflowReconnects);
      this.inc({ connection: 'ovsdb' }, p.ovsdbReconnects);
    },
  });
  new Counter({
    name: `${P}packet_ins_total`,
    help: 'Packets the pipeline punted to the controller, by reason (dhcp, icmp_echo, ttl_exceeded, no_route, reactive_miss, unknown).',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      const p = probe();
      if (!p) return;
      this.reset();
      for (const reason of PUNT_REASONS) this.inc({ reason }, p.stats.punts[reason] ?? 0);
    },
  });
  mirror('lease_lost_total', 'Times the chassis registration lease was lost (the controller registers again).', (p) => p.leaseLosses);
  mirror('syncs_total', 'Sync passes (compile, diff, send).', (p) => p.stats.syncs);
  mirror('flow_mods_total', 'Flow mods sent to the switch.', (p) => p.stats.flowModsSent);
  mirror('group_mods_total', 'Group mods sent to the switch.', (p) => p.stats.groupModsSent);
  mirror('dhcp_replies_total', 'DHCP replies sent.', (p) => p.stats.dhcpReplies);
  mirror('dhcp_rate_limited_total', 'DHCP packets dropped by the per-port rate limit (the controller\'s own meter).', (p) => p.stats.dhcpRateLimited);
  mirror('reactive_flows_installed_total', 'Per-destination flows installed on reactive misses.', (p) => p.stats.reactiveFlowsInstalled);

  const bundles = new Histogram({
    name: `${P}bundle_duration_seconds`,
    help: 'Atomic bundles of flow and group mods: open to commit acknowledged, by outcome (ok, failed).',
    labelNames: ['outcome'] as const,
    buckets: CONTROLLER_BUCKETS,
    registers,
  });
  const bundleMessages = new Counter({
    name: `${P}bundle_messages_total`,
    help: 'Flow and group mods sent in bundles, by outcome.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const syncs = new Histogram({
    name: `${P}sync_duration_seconds`,
    help: 'Sync passes that reached the switch: compile, diff, bundle.',
    buckets: CONTROLLER_BUCKETS,
    registers,
  });
  const ok = bundles.labels('ok');
  const failed = bundles.labels('failed');
  const okMessages = bundleMessages.labels('ok');
  const failedMessages = bundleMessages.labels('failed');
  // Every series exists from the start (at zero), so rate() sees the first bundle.
  for (const outcome of ['ok', 'failed']) {
    bundles.zero({ outcome });
    bundleMessages.inc({ outcome }, 0);
  }

  return {
    observer: {
      bundle(seconds, messages, success) {
        (success ? ok : failed).observe(seconds);
        (success ? okMessages : failedMessages).inc(messages);
      },
      sync(seconds) {
        syncs.observe(seconds);
      },
    },
    attach(p) {
      source = p;
    },
  };
}
