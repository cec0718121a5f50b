/**
 * `wyvern status`: the health of the whole cloud read from the north-bound store — every
 * chassis (registration under its lease, and the status record its controller publishes), every
 * API server (record and liveness key), the store itself (and, for etcd, its members and leader)
 * — with the problems that make it unhealthy. The judgement is a pure function of what was read
 * (`judge`), tested without a cloud.
 */
import { CHASSIS_PREFIX, type ChassisRecord } from '../model/chassis.js';
import { PORTS_PREFIX } from '../model/keys.js';
import {
  CHASSIS_STATUS_PREFIX,
  SERVER_LIVE_PREFIX,
  SERVER_STATUS_PREFIX,
  parseStatusRecord,
  type ChassisStatusRecord,
  type ServerStatusRecord,
} from '../model/status.js';
import type { KeyValue, Store } from '../store/types.js';
import type { EtcdHealth } from './etcd-health.js';

export interface ChassisHealth {
  readonly name: string;
  /** Registered under a live lease. */
  readonly alive: boolean;
  readonly healthy: boolean;
  readonly problems: readonly string[];
  readonly version?: string;
  readonly gateway?: boolean;
  readonly tunnel_ip?: string;
  readonly l3_mode?: string;
  readonly applied_revision?: number;
  /** seen − applied revision when the controller last published (0: it kept up). */
  readonly lag?: number;
  readonly behind_since?: string | null;
  /** Ports bound to this chassis and ACTIVE in the store. */
  readonly ports_bound: number;
  readonly local_ports?: number;
  readonly flows?: number;
  readonly groups?: number;
  readonly openflow?: string;
  readonly ovsdb?: string;
  readonly metrics_url?: string | null;
  /** When the status record was written (undefined: none yet). */
  readonly updated_at?: string;
}

export interface ServerHealth {
  readonly id: string;
  readonly url: string;
  readonly alive: boolean;
  readonly healthy: boolean;
  readonly problems: readonly string[];
  readonly version: string;
  readonly store: string;
  readonly metrics_url: string;
  readonly started_at: string;
}

export interface StoreHealth {
  /** What `--nb` opened: sqlite, etcd, memory, remote (a server's embedded store over HTTP). */
  readonly kind: string;
  readonly nb: string;
  readonly revision: number;
  /** The stores the servers serve (sqlite paths, etcd URLs). */
  readonly backends: readonly string[];
  readonly etcd?: EtcdHealth;
  readonly healthy: boolean;
  readonly problems: readonly string[];
}

export interface StatusReport {
  readonly healthy: boolean;
  readonly checked_at: string;
  readonly store: StoreHealth;
  readonly servers: readonly ServerHealth[];
  readonly chassis: readonly ChassisHealth[];
  /** Every problem, prefixed with what it is about. */
  readonly problems: readonly string[];
}

/** What `judge` works from: the raw records as read in one go. */
export interface StatusInputs {
  readonly nb: string;
  readonly kind: string;
  readonly revision: number;
  readonly registrations: readonly KeyValue[];
  readonly statusRecords: readonly KeyValue[];
  readonly serverRecords: readonly KeyValue[];
  readonly serverLive: readonly KeyValue[];
  /** Ports ACTIVE per chassis name. */
  readonly activePorts: ReadonlyMap<string, number>;
  readonly etcd?: EtcdHealth;
  readonly now: Date;
}

function parseChassis(text: string): ChassisRecord | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && typeof (v as ChassisRecord).name === 'string' ? (v as ChassisRecord) : undefined;
  } catch {
    return undefined;
  }
}

function chassisHealth(name: string, reg: ChassisRecord | undefined, st: ChassisStatusRecord | undefined, portsBound: number): ChassisHealth {
  const problems: string[] = [];
  if (!reg) problems.push('down: its registration is gone (the controller stopped renewing its lease)');
  else if (st) {
    if (st.openflow !== 'connected') problems.push(`OpenFlow connection ${st.openflow}`);
    if (st.ovsdb !== 'connected' && st.ovsdb !== 'unknown') problems.push(`OVSDB connection ${st.ovsdb}`);
    if (st.behind_since) problems.push(`switch behind the store since ${st.behind_since}`);
  }
  return {
    name,
    alive: reg !== undefined,
    healthy: problems.length === 0,
    problems,
    version: reg?.version ?? st?.version,
    gateway: reg?.gateway ?? st?.gateway,
    tunnel_ip: reg?.tunnel_ip,
    l3_mode: st?.l3_mode ?? reg?.l3_mode,
    applied_revision: st?.applied_revision,
    lag: st ? Math.max(0, st.seen_revision - st.applied_revision) : undefined,
    behind_since: st?.behind_since,
    ports_bound: portsBound,
    local_ports: st?.local_ports,
    flows: st?.installed_flows,
    groups: st?.groups,
    openflow: st?.openflow,
    ovsdb: st?.ovsdb,
    metrics_url: st?.metrics_url,
    updated_at: st?.updated_at,
  };
}

/** The report from what was read: who is alive, what is wrong. */
export function judge(i: StatusInputs): StatusReport {
  const tail = (prefix: string, key: string): string => key.slice(key.indexOf(prefix) + prefix.length);
  const regs = new Map<string, ChassisRecord>();
  for (const kv of i.registrations) {
    const r = parseChassis(kv.value);
    if (r) regs.set(tail(CHASSIS_PREFIX, kv.key), r);
  }
  const records = new Map<string, ChassisStatusRecord>();
  for (const kv of i.statusRecords) {
    const r = parseStatusRecord<ChassisStatusRecord>(kv.value, 'name');
    if (r) records.set(tail(CHASSIS_STATUS_PREFIX, kv.key), r);
  }
  const names = [...new Set([...regs.keys(), ...records.keys()])].sort();
  const chassis = names.map((n) => chassisHealth(n, regs.get(n), records.get(n), i.activePorts.get(n) ?? 0));

  const live = new Set(i.serverLive.map((kv) => tail(SERVER_LIVE_PREFIX, kv.key)));
  const servers: ServerHealth[] = [];
  for (const kv of i.serverRecords) {
    const r = parseStatusRecord<ServerStatusRecord>(kv.value, 'id');
    if (!r) continue;
    const id = tail(SERVER_STATUS_PREFIX, kv.key);
    const alive = live.has(id);
    const problems = alive ? [] : ['down: its liveness key is gone (the server stopped renewing its lease)'];
    servers.push({ id, url: r.url, alive, healthy: alive, problems, version: r.version, store: r.store, metrics_url: r.metrics_url, started_at: r.started_at });
  }
  servers.sort((a, b) => a.id.localeCompare(b.id));

  const storeProblems: string[] = [];
  if (i.etcd) {
    if (i.etcd.error) storeProblems.push(`etcd: ${i.etcd.error}`);
    else {
      if (!i.etcd.leader) storeProblems.push('etcd: no leader the members agree on');
      for (const m of i.etcd.members) if (!m.reachable) storeProblems.push(`etcd member ${m.name || m.id} unreachable${m.error ? ` (${m.error})` : ''}`);
    }
  }
  const store: StoreHealth = {
    kind: i.kind,
    nb: i.nb,
    revision: i.revision,
    backends: [...new Set(servers.map((s) => s.store))],
    ...(i.etcd ? { etcd: i.etcd } : {}),
    healthy: storeProblems.length === 0,
    problems: storeProblems,
  };
  const problems = [
    ...storeProblems.map((p) => `store: ${p}`),
    ...servers.flatMap((s) => s.problems.map((p) => `server ${s.id}: ${p}`)),
    ...chassis.flatMap((c) => c.problems.map((p) => `chassis ${c.name}: ${p}`)),
  ];
  return { healthy: problems.length === 0, checked_at: i.now.toISOString(), store, servers, chassis, problems };
}

/** Read everything `judge` needs from `store` (opened from `nb`), and judge it. */
export async function collectStatus(
  store: Store,
  nb: string,
  opts: { readonly etcd?: (url: string) => Promise<EtcdHealth> } = {},
): Promise<StatusReport> {
  const [registrations, statusRecords, serverRecords, serverLive, ports] = await Promise.all([
    store.range(CHASSIS_PREFIX),
    store.range(CHASSIS_STATUS_PREFIX),
    store.range(SERVER_STATUS_PREFIX),
    store.range(SERVER_LIVE_PREFIX),
    store.range(PORTS_PREFIX),
  ]);
  const activePorts = new Map<string, number>();
  for (const kv of ports.kvs) {
    try {
      const p = JSON.parse(kv.value) as { status?: string; 'binding:host_id'?: string };
      const host = p['binding:host_id'];
      if (host && p.status === 'ACTIVE') activePorts.set(host, (activePorts.get(host) ?? 0) + 1);
    } catch {
      // not a port record: not counted
    }
  }
  // etcd: the one --nb names, or the one the servers serve.
  const etcdUrl = nb.startsWith('etcd:')
    ? nb
    : serverRecords.kvs.map((kv) => parseStatusRecord<ServerStatusRecord>(kv.value, 'id')?.store).find((s) => s?.startsWith('etcd:'));
  const etcd = etcdUrl && opts.etcd ? await opts.etcd(etcdUrl) : undefined;
  const revision = Math.max(registrations.revision, statusRecords.revision, serverRecords.revision, serverLive.revision, ports.revision);
  return judge({
    nb,
    kind: store.kind,
    revision,
    registrations: registrations.kvs,
    statusRecords: statusRecords.kvs,
    serverRecords: serverRecords.kvs,
    serverLive: serverLive.kvs,
    activePorts,
    ...(etcd ? { etcd } : {}),
    now: new Date(),
  });
}
