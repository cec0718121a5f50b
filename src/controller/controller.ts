/**
 * The local controller: one per chassis, stateless. It registers the chassis under a lease,
 * makes sure br-int and the tunnel port exist, follows the north-bound store (only what its
 * local ports need), compiles the pipeline and reconciles it with the switch: desired against
 * installed, deltas in one atomic bundle. A restart of the controller or of OVS never wipes
 * working flows first: on every (re)connect it reads what the switch has and sends only the
 * difference.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import type { Store, Lease, Watch } from '../store/types.js';
import { openStore } from '../store/open.js';
import { Vswitch, type EnsureBridgeOptions, type EnsureTunnelPortOptions, type InterfaceInfo } from '../ovsdb/vswitch.js';
import { OpenFlowChannel } from '../openflow/channel.js';
import { chassisKey, chassisMac, type ChassisRecord } from '../model/chassis.js';
import { CONFIG_PREFIX, L3_MODE_KEY, chassisL3ModeKey, parseL3Mode } from '../model/config.js';
import {
  DesiredTable,
  InstalledTable,
  diff,
  diffTracked,
  fullCompile,
  updateDesired,
  reactiveInvalidations,
  CT_ZONE_MAX,
  GENEVE_TLV_MAPPINGS,
  PUNT_METERS,
  type PipelineMessage,
} from '../pipeline/index.js';
import { PuntHandler } from './punt-handler.js';
import { NbCache } from './nb-cache.js';
import { assignZones, CT_ZONE_EXTERNAL_ID } from './ct-zones.js';
import { buildLocalTopology } from './local-topology.js';
import { bindPort } from './port-binder.js';
import type { ChassisInfo, Encap, L3Mode, LocalTopology } from '../pipeline/topology.js';
import type { ControllerObserver, ControllerProbe } from './probe.js';
import { StatusPublisher } from './status-publisher.js';
import { NorthSouth } from './north-south.js';
import type { RouterZones } from '../pipeline/topology.js';
import { probeTargets, TunnelProber } from './tunnel-probe.js';

/** Largest reconcile batch sent as one pipelined bundle (see LocalController.send). */
const PIPELINED_BUNDLE_MAX = 512;

export type { L3Mode };

/**
 * What the controller needs from OVSDB. `Vswitch` (real ovsdb-server) implements it; the scale
 * benchmark runs many controllers in one process against in-memory stand-ins.
 */
export interface SwitchDb {
  ensureBridge(o: EnsureBridgeOptions): Promise<unknown>;
  /** A port of this type with these options exists (tunnel ports, patch ports). */
  ensureTunnelPort(o: EnsureTunnelPortOptions): Promise<unknown>;
  waitForOfport(name: string, timeoutMs?: number): Promise<number>;
  interfaces(): InterfaceInfo[];
  /** Set keys of an interface's external_ids (e.g. its conntrack zone). */
  setInterfaceExternalIds(name: string, ids: Record<string, string>): Promise<unknown>;
  /** 'interface' and 'ofport' events announce changes to interfaces(). */
  on(event: 'interface' | 'ofport', listener: () => void): unknown;
  close(): Promise<void>;
}

export interface ControllerOptions {
  readonly chassis: string;
  /** North-bound store URL: the server's `http://HOST:PORT`, `etcd:URL,...`, `sqlite:PATH`. */
  readonly nb: string;
  /** An already open store to use instead of opening `nb` (many controllers in one process). */
  readonly store?: Store;
  /** An OVSDB stand-in to use instead of connecting to `ovsdb` (scale benchmark). */
  readonly switchDb?: SwitchDb;
  /** `unix:PATH` or `tcp:IP:PORT` of this chassis' ovsdb-server. */
  readonly ovsdb: string;
  readonly tunnelIp: string;
  readonly bridge?: string;
  readonly encap?: Encap;
  /** OpenFlow target of the bridge; default: `unix:<ovsdb socket dir>/<bridge>.mgmt`. */
  readonly openflow?: string;
  readonly l3Mode?: L3Mode;
  readonly gateway?: boolean;
  readonly bridgeMappings?: Readonly<Record<string, string>>;
  /** br-int datapath type (`netdev` for the userspace datapath, `system`, `dummy` in tests). */
  readonly datapathType?: string;
  readonly leaseTtlSeconds?: number;
  /** DHCP packets per second per port, and burst. */
  readonly dhcpRate?: number;
  readonly version?: string;
  readonly log?: (line: string) => void;
  /** Told about bundles and sync passes as they happen (metrics). */
  readonly observer?: ControllerObserver;
  /** Publish the status record `/status/chassis/<name>` (checked this often; 0/absent: never). */
  readonly statusIntervalMs?: number;
  /** Metrics endpoint named in the status record. */
  readonly metricsUrl?: string;
  /** Keep every remote tunnel endpoint resolved in the switch (default true; see tunnel-probe.ts). */
  readonly tunnelProbe?: boolean;
}

export interface ControllerStats {
  readonly syncs: number;
  readonly flowModsSent: number;
  readonly groupModsSent: number;
  readonly desiredFlows: number;
  readonly installedFlows: number;
  readonly packetIns: number;
  /** Packet-ins by punt kind, and what the controller did with them. */
  readonly punts: Readonly<Record<string, number>>;
  readonly reactiveFlowsInstalled: number;
  readonly dhcpReplies: number;
  readonly dhcpRateLimited: number;
  readonly localPorts: number;
  readonly networks: number;
}

export interface ControllerEvents {
  /** A reconcile pass finished with the switch in the desired state (barrier acknowledged). */
  synced: [stats: ControllerStats];
  error: [err: Error];
}

const TUNNEL_PORT_NAME: Record<Encap, string> = { geneve: 'wyv-geneve', vxlan: 'wyv-vxlan' };

function defaultOpenflowTarget(ovsdb: string, bridge: string): string {
  if (!ovsdb.startsWith('unix:')) {
    throw new Error('--openflow is required when --ovsdb is not a unix socket');
  }
  return `unix:${path.join(path.dirname(ovsdb.slice(5)), `${bridge}.mgmt`)}`;
}

export class LocalController extends EventEmitter<ControllerEvents> {
  private readonly bridge: string;
  private readonly encap: Encap;
  private readonly chassisInfo: ChassisInfo;
  private store!: Store;
  private lease: Lease | undefined;
  private vswitch!: SwitchDb;
  private channel!: OpenFlowChannel;
  private cache!: NbCache;
  private tunnelOfport: Partial<Record<Encap, number>> = {};
  private desired = new DesiredTable();
  private topo: LocalTopology | undefined;
  /** What the switch has; undefined until read after a (re)connect. */
  private installed: InstalledTable | undefined;
  private plugged = new Map<string, number>();
  /** Conntrack zone of each plugged port (see ct-zones.ts). */
  private ctZones: ReadonlyMap<string, number> = new Map();
  /** Zone records being written to OVSDB (`<interface>=<zone>`). */
  private readonly zoneWrites = new Set<string>();
  /** Deletes of reactive flows made stale by topology changes, sent with the next diff. */
  private pendingInvalidations: PipelineMessage[] = [];
  private applied = 0;
  private fullDiffNeeded = true;
  private configWatch: Watch | undefined;
  private syncing = false;
  private syncAgain = false;
  private stopped = false;
  private readonly punts: PuntHandler;
  private readonly log: (line: string) => void;
  private counters = { syncs: 0, flowModsSent: 0, groupModsSent: 0 };
  /** Connections and the lease, for probe(). */
  private readonly links = { openflowConnects: 0, ovsdbReconnects: 0, leaseLosses: 0 };
  private l3Mode: L3Mode;
  private statusPublisher: StatusPublisher | undefined;
  private northSouth: NorthSouth | undefined;
  /** physnet → ofport of its patch port on br-int (`--bridge-mappings`). */
  private localnets: ReadonlyMap<string, number> = new Map();
  /** NAT zones of routers (see routerZonesFor). */
  private routerZones: ReadonlyMap<string, RouterZones> = new Map();
  private readonly tunnelProber: TunnelProber | undefined;

  constructor(private readonly opts: ControllerOptions) {
    super();
    this.bridge = opts.bridge ?? 'br-int';
    this.encap = opts.encap ?? 'geneve';
    this.chassisInfo = {
      name: opts.chassis,
      tunnelIp: opts.tunnelIp,
      encap: [this.encap],
      gateway: opts.gateway ?? false,
      mac: chassisMac(opts.chassis),
    };
    this.log = opts.log ?? (() => {});
    this.l3Mode = opts.l3Mode ?? 'proactive';
    this.punts = new PuntHandler({
      topology: () => this.topo,
      send: (msg) => this.channel.send(msg),
      sendBundle: (msgs) => this.channel.bundlePipelined(msgs),
      dhcpRate: opts.dhcpRate ?? 20,
      neighbour: (kind, msg, networkKey) => {
        if (kind === 'miss') this.northSouth?.onMiss(msg, networkKey);
        else this.northSouth?.onLearn(msg, networkKey);
      },
    });
    if (opts.tunnelProbe !== false) {
      this.tunnelProber = new TunnelProber({
        chassis: opts.chassis,
        send: (msg) => this.channel.send(msg),
        connected: () => this.channel?.state === 'connected',
        ofport: () => this.tunnelOfport[this.encap],
        log: this.log,
      });
    }
  }

  async start(): Promise<void> {
    const firstSync = new Promise<void>((resolve) => this.once('synced', () => resolve()));
    this.store = this.opts.store ?? (await openStore(this.opts.nb));
    await this.register();
    this.vswitch = this.opts.switchDb ?? (await Vswitch.connect(this.opts.ovsdb));
    await this.ensureSwitchConfig();
    this.cache = new NbCache(this.store, { chassis: this.opts.chassis, gateway: this.opts.gateway ?? false });
    this.northSouth = new NorthSouth({
      store: this.store,
      chassis: this.opts.chassis,
      gateway: this.opts.gateway ?? false,
      send: (msg) => void this.channel?.send(msg),
      log: this.log,
      resync: () => this.scheduleSync(),
    });
    this.northSouth.start();
    this.cache.on('change', () => this.scheduleSync());
    this.cache.on('error', (err) => this.fail(err));
    this.cache.on('resync', (reason) => this.log(`north-bound resync: ${reason}`));
    // A record this controller cannot read is treated as absent: say which and why.
    this.cache.on('invalid', (key, reason) => this.log(`north-bound record ${key} refused: ${reason}`));
    // A change that touches nothing held here leaves the switch as it is: it reflects that
    // revision already, unless a pass is pending (which will read the newer revision anyway).
    this.cache.on('idle', (revision) => {
      if (!this.syncing && this.installed && this.topo) this.applied = Math.max(this.applied, revision);
    });
    await this.cache.start();
    await this.followConfig();
    this.vswitch.on('interface', () => this.scheduleSync());
    this.vswitch.on('ofport', () => this.scheduleSync());

    const target = this.opts.openflow ?? defaultOpenflowTarget(this.opts.ovsdb, this.bridge);
    this.channel = OpenFlowChannel.connect(target, { echoIntervalMs: 2_000 });
    this.channel.on('connected', () => void this.onSwitchConnected());
    this.channel.on('connected', () => this.tunnelProber?.restart());
    this.channel.on('disconnected', (reason) => {
      this.installed = undefined;
      this.log(`switch disconnected${reason ? `: ${reason.message}` : ''}`);
    });
    this.channel.on('packetIn2', (msg) => this.punts.handle(msg));
    this.channel.on('connected', () => void this.links.openflowConnects++);
    if (this.vswitch instanceof Vswitch) this.vswitch.client.on('connect', () => void this.links.ovsdbReconnects++);
    this.channel.on('error', (err) => this.log(`openflow: ${err.message}`));
    await this.channel.ready();
    await firstSync;
    if (this.opts.statusIntervalMs) {
      this.statusPublisher = new StatusPublisher({
        store: this.store,
        probe: () => this.probe(),
        intervalMs: this.opts.statusIntervalMs,
        leaseTtlSeconds: this.opts.leaseTtlSeconds ?? 10,
        metricsUrl: this.opts.metricsUrl,
        log: this.log,
      });
      this.statusPublisher.start();
    }
  }

  /** North-bound revision whose state the switch holds (acknowledged). */
  appliedRevision(): number {
    return this.applied;
  }

  /** Resolves once the switch holds the state of north-bound revision `revision` or later. */
  async waitForRevision(revision: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.applied < revision) {
      if (Date.now() > deadline) throw new Error(`chassis ${this.opts.chassis} did not reach revision ${revision}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.once('synced', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /**
   * Resolves after the next reconcile that leaves the switch in the desired state; rejects if
   * none happens within `timeoutMs` (nothing changed: prefer `waitForRevision`).
   */
  waitSynced(timeoutMs = 30_000): Promise<ControllerStats> {
    return new Promise((resolve, reject) => {
      const done = (s: ControllerStats): void => {
        clearTimeout(timer);
        resolve(s);
      };
      const timer = setTimeout(() => {
        this.off('synced', done);
        reject(new Error(`chassis ${this.opts.chassis}: no reconcile within ${timeoutMs} ms`));
      }, timeoutMs);
      this.once('synced', done);
    });
  }

  /** Sync passes so far (what `stats().syncs` says, without building the whole record). */
  get syncCount(): number {
    return this.counters.syncs;
  }

  stats(): ControllerStats {
    return {
      ...this.counters,
      desiredFlows: this.desired.flowCount,
      installedFlows: this.installed?.flows.size ?? 0,
      ...this.punts.stats(),
      localPorts: this.topo?.local.size ?? 0,
      networks: this.topo?.networks.size ?? 0,
    };
  }

  /** Numbers and state for metrics and the status record (cheap; see probe.ts). */
  probe(): ControllerProbe {
    return {
      chassis: this.opts.chassis,
      gateway: this.opts.gateway ?? false,
      version: this.opts.version ?? 'dev',
      l3Mode: this.l3Mode,
      appliedRevision: this.applied,
      seenRevision: this.cache?.revision() ?? 0,
      openflow: this.channel?.state ?? 'idle',
      ovsdb: this.vswitch instanceof Vswitch ? this.vswitch.client.state : 'unknown',
      openflowReconnects: Math.max(0, this.links.openflowConnects - 1),
      ovsdbReconnects: this.links.ovsdbReconnects,
      leaseLosses: this.links.leaseLosses,
      installed: this.installed,
      stats: this.stats(),
    };
  }

  /**
   * Stop without touching the switch or the store's chassis record: flows keep forwarding and
   * the lease simply runs out unless a new controller takes over first (a restart is hitless).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.northSouth?.stop();
    this.statusPublisher?.stop();
    this.tunnelProber?.stop();
    this.channel?.close();
    await this.configWatch?.cancel();
    await this.cache?.close();
    await this.vswitch?.close();
    if (!this.opts.store) await this.store?.close();
  }

  /**
   * Report a failure of background work. Never throws: after stop() the failures of work cut
   * short are expected and dropped, and with no 'error' listener the failure is logged
   * (EventEmitter would otherwise throw it into a promise nobody awaits).
   */
  private fail(err: unknown): void {
    if (this.stopped) return;
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else this.log(`error: ${e.message}`);
  }

  private chassisRecord(): ChassisRecord {
    return {
      name: this.opts.chassis,
      hostname: os.hostname(),
      tunnel_ip: this.opts.tunnelIp,
      encap: [this.encap],
      bridge_mappings: this.opts.bridgeMappings ?? {},
      gateway: this.opts.gateway ?? false,
      l3_mode: this.opts.l3Mode ?? 'proactive',
      version: this.opts.version ?? 'dev',
      started_at: new Date().toISOString(),
    };
  }

  /** Put the chassis record under a fresh lease; re-register if the lease is ever lost. */
  private async register(): Promise<void> {
    const lease = await this.store.grantLease(this.opts.leaseTtlSeconds ?? 10);
    this.lease = lease;
    await this.store.txn({
      compare: [],
      success: [{ type: 'put', key: chassisKey(this.opts.chassis), value: JSON.stringify(this.chassisRecord()), lease: lease.id }],
    });
    lease.onLost((err) => {
      if (this.stopped || this.lease !== lease) return;
      this.links.leaseLosses++;
      this.log(`chassis lease lost (${err.message}); registering again`);
      const retry = (delay: number): void => {
        setTimeout(() => {
          if (this.stopped) return;
          this.register().catch(() => retry(Math.min(delay * 2, 5_000)));
        }, delay);
      };
      retry(100);
    });
  }

  private async ensureSwitchConfig(): Promise<void> {
    await this.vswitch.ensureBridge({
      name: this.bridge,
      datapathType: this.opts.datapathType ?? 'netdev',
      failMode: 'secure',
      protocols: ['OpenFlow13'],
      otherConfig: { 'disable-in-band': 'true' },
      externalIds: { 'wyvern-chassis': this.opts.chassis },
    });
    const name = TUNNEL_PORT_NAME[this.encap];
    await this.vswitch.ensureTunnelPort({
      bridge: this.bridge,
      name,
      type: this.encap,
      options: { remote_ip: 'flow', key: 'flow', local_ip: this.opts.tunnelIp },
    });
    this.tunnelOfport = { [this.encap]: await this.vswitch.waitForOfport(name) };
    this.localnets = await this.ensurePatchPorts();
  }

  /**
   * For each `--bridge-mappings physnet:bridge`: the bridge (created if missing) and a pair of
   * patch ports joining it to br-int. Returns physnet → ofport of br-int's end.
   */
  private async ensurePatchPorts(): Promise<ReadonlyMap<string, number>> {
    const out = new Map<string, number>();
    for (const [physnet, bridge] of Object.entries(this.opts.bridgeMappings ?? {}).sort()) {
      const inner = `patch-int-to-${bridge}`;
      const outer = `patch-${bridge}-to-int`;
      // A provider bridge switches normally (standalone: the NORMAL action, no flows of ours).
      await this.vswitch.ensureBridge({
        name: bridge,
        datapathType: this.opts.datapathType ?? 'netdev',
        failMode: 'standalone',
        protocols: ['OpenFlow10', 'OpenFlow13'],
      });
      await this.vswitch.ensureTunnelPort({ bridge: this.bridge, name: inner, type: 'patch', options: { peer: outer } });
      await this.vswitch.ensureTunnelPort({ bridge, name: outer, type: 'patch', options: { peer: inner } });
      out.set(physnet, await this.vswitch.waitForOfport(inner));
    }
    return out;
  }

  /**
   * Conntrack zones for the NAT of every router with a gateway here: two per router, from the
   * same pool as the ports' zones (kept by this process; a restart assigns them again in the
   * same order).
   */
  private routerZonesFor(portZones: ReadonlyMap<string, number>): ReadonlyMap<string, RouterZones> {
    const routers = [...this.cache.snapshot().routers.values()].filter((r) => r.external_gateway_info !== null).map((r) => r.id).sort();
    const used = new Set(portZones.values());
    const out = new Map<string, RouterZones>();
    const taken = new Set<number>();
    // Keep what each router had, unless a port now records that zone.
    for (const id of routers) {
      const z = this.routerZones.get(id);
      if (z && !used.has(z.snat) && !used.has(z.dnat)) {
        out.set(id, z);
        taken.add(z.snat).add(z.dnat);
      }
    }
    let next = CT_ZONE_MAX;
    const free = (): number | undefined => {
      while (next >= 1 && (used.has(next) || taken.has(next))) next--;
      if (next < 1) return undefined;
      taken.add(next);
      return next;
    };
    for (const id of routers) {
      if (out.has(id)) continue;
      const snat = free();
      const dnat = free();
      if (snat === undefined || dnat === undefined) break;
      const prev = this.routerZones.get(id);
      out.set(id, prev && prev.snat === snat && prev.dnat === dnat ? prev : { snat, dnat });
    }
    return out;
  }

  /** After each (re)connect: TLV mapping, read what the switch has, full diff. */
  private async onSwitchConnected(): Promise<void> {
    try {
      await this.channel.sendAsync({ type: 'set_packet_in_format', format: 'nxt_packet_in2' });
      if (this.encap === 'geneve') await this.ensureTlvMapping();
      await this.ensureMeters();
      const [flows, groups] = await Promise.all([this.channel.dumpFlows(), this.channel.dumpGroups()]);
      this.installed = InstalledTable.fromSwitch(flows, groups);
      this.fullDiffNeeded = true;
      this.log(`switch connected: ${flows.length} flows, ${groups.length} groups installed`);
      this.scheduleSync();
    } catch (err) {
      this.fail(err);
    }
  }

  private async ensureTlvMapping(): Promise<void> {
    const reply = await this.channel.request({ type: 'tlv_table_request' });
    const missing = GENEVE_TLV_MAPPINGS.filter(
      (m) => !reply.mappings.some((h) => h.index === m.index && h.optClass === m.optClass && h.optType === m.optType && h.optLen === m.optLen),
    );
    if (missing.length > 0) {
      await this.channel.sendAsync({ type: 'tlv_table_mod', command: 'add', mappings: missing });
      await this.channel.barrier();
    }
  }

  /** The punt meters every router punt flow refers to: add, or modify when they exist. */
  private async ensureMeters(): Promise<void> {
    const adds = PUNT_METERS.map((m) => ({ type: 'meter_mod' as const, ...m }));
    const failed = await this.channel.sendBatch(adds);
    if (failed.length > 0) {
      const again = await this.channel.sendBatch(failed.map((f) => ({ ...adds[f.index], command: 'modify' as const })));
      if (again.length > 0) throw again[0].error;
    }
  }

  /** Follow `/config/l3-mode[/<chassis>]` (see model/config.ts) from the store, live. */
  private async followConfig(): Promise<void> {
    const values = new Map<string, string>();
    const apply = (): void => {
      const mode =
        parseL3Mode(values.get(chassisL3ModeKey(this.opts.chassis))) ?? parseL3Mode(values.get(L3_MODE_KEY)) ?? this.opts.l3Mode ?? 'proactive';
      this.setL3Mode(mode);
    };
    const initial = await this.store.range(CONFIG_PREFIX);
    for (const kv of initial.kvs) values.set(kv.key, kv.value);
    apply();
    this.configWatch = this.store.watch(CONFIG_PREFIX, initial.revision + 1, {
      onEvents: (events, revision) => {
        for (const ev of events) {
          if (ev.type === 'delete') values.delete(ev.key);
          else values.set(ev.key, ev.value ?? '');
        }
        this.cache.seen(revision);
        apply();
        this.scheduleSync();
      },
      onCompacted: () => void this.configWatch?.cancel().then(() => this.followConfig()),
      onError: (err) => this.fail(err),
    });
  }

  /** Switch between proactive and reactive routing at run time (no traffic lost: the
   * proactive flows are replaced by reactive misses in one bundle, and back). */
  setL3Mode(mode: L3Mode): void {
    if (mode === this.l3Mode) return;
    this.l3Mode = mode;
    this.log(`l3 mode: ${mode}`);
    this.scheduleSync();
  }

  /** Ports plugged into br-int now: port id → ofport, and the interface behind each. */
  private pluggedNow(): { plugged: Map<string, number>; ifaces: Map<string, InterfaceInfo> } {
    const plugged = new Map<string, number>();
    const ifaces = new Map<string, InterfaceInfo>();
    for (const i of this.vswitch.interfaces()) {
      if (i.ifaceId && i.ofport !== undefined && i.ofport > 0) {
        plugged.set(i.ifaceId, i.ofport);
        ifaces.set(i.ifaceId, i);
      }
    }
    return { plugged, ifaces };
  }

  /**
   * Conntrack zones of the plugged ports: those recorded on their interfaces, new ones for the
   * rest (recorded in OVSDB in the background, so a restart finds them; see ct-zones.ts).
   */
  private zonesFor(ifaces: ReadonlyMap<string, InterfaceInfo>): ReadonlyMap<string, number> {
    const candidates = [...ifaces].map(([portId, i]) => ({ portId, recorded: i.externalIds[CT_ZONE_EXTERNAL_ID] }));
    const { zones, toRecord } = assignZones(candidates, this.ctZones);
    this.ctZones = zones;
    for (const [portId, zone] of toRecord) {
      const iface = ifaces.get(portId)!;
      const key = `${iface.name}=${zone}`;
      if (this.zoneWrites.has(key)) continue;
      this.zoneWrites.add(key);
      this.vswitch
        .setInterfaceExternalIds(iface.name, { [CT_ZONE_EXTERNAL_ID]: String(zone) })
        .catch((e: unknown) => this.log(`recording conntrack zone of ${portId}: ${String(e)}`))
        .finally(() => this.zoneWrites.delete(key));
    }
    return zones;
  }

  scheduleSync(): void {
    if (this.stopped) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    setImmediate(() => void this.syncLoop());
  }

  private async syncLoop(): Promise<void> {
    try {
      do {
        this.syncAgain = false;
        await this.syncOnce();
      } while (this.syncAgain && !this.stopped);
    } catch (err) {
      this.fail(err);
      if (!this.stopped) setTimeout(() => this.scheduleSync(), 500);
    } finally {
      this.syncing = false;
    }
  }

  private async syncOnce(): Promise<void> {
    const startedAt = performance.now();
    const { plugged, ifaces } = this.pluggedNow();
    const ctZones = this.zonesFor(ifaces);
    const added = [...plugged.keys()].filter((id) => !this.plugged.has(id));
    const removed = [...this.plugged.keys()].filter((id) => !plugged.has(id));
    this.plugged = plugged;
    if (added.length > 0 || removed.length > 0) await this.cache.setLocalPorts(new Set(plugged.keys()));

    const revision = this.cache.revision();
    this.routerZones = this.routerZonesFor(ctZones);
    const snapshot = this.cache.snapshot();
    this.tunnelProber?.setTargets(probeTargets(snapshot.chassis, this.opts.chassis, this.opts.tunnelIp));
    const next = buildLocalTopology(snapshot, {
      chassis: this.chassisInfo,
      plugged,
      tunnelOfport: this.tunnelOfport,
      l3Mode: this.l3Mode,
      ctZones,
      localnets: this.localnets,
      routerZones: this.routerZones,
      neighbours: this.northSouth?.neighbours.snapshot(),
    });
    const prev = this.topo;
    if (prev === undefined) this.desired = fullCompile(next);
    else updateDesired(this.desired, prev, next);
    this.topo = next;
    if (prev) this.pendingInvalidations.push(...reactiveInvalidations(prev, next));
    this.counters.syncs++;

    // Store writes after the flows are computed: bindings are best effort and retried next pass.
    void this.bindAll(added, removed);

    const installed = this.installed;
    if (!installed || this.channel.state !== 'connected') return; // reconciled on connect
    // After a (re)connect or a failed send: compare everything. Otherwise only what the
    // incremental compile touched since the last pass (tracked deltas).
    let messages: PipelineMessage[];
    if (this.fullDiffNeeded) {
      messages = diff(this.desired, installed);
      this.desired.takeDirty();
      this.fullDiffNeeded = false;
    } else {
      messages = diffTracked(this.desired, installed);
    }
    // Reactive flows of ports that moved or went away go in the same bundle as the new state.
    const invalidations = this.pendingInvalidations;
    this.pendingInvalidations = [];
    if (messages.length > 0 || invalidations.length > 0) {
      try {
        await this.send([...messages, ...invalidations]);
      } catch (err) {
        this.fullDiffNeeded = true;
        throw err;
      }
      installed.apply(messages);
    }
    // Changes that arrived during this pass and touched nothing held here (the cache's
    // 'idle') are reflected too, unless a relevant one asked for another pass.
    this.applied = Math.max(this.applied, this.syncAgain ? revision : this.cache.revision());
    this.opts.observer?.sync?.((performance.now() - startedAt) / 1000);
    this.northSouth?.afterSync(next, snapshot);
    this.emit('synced', this.stats());
  }

  /** The last batch sent to the switch (for debugging and tests). */
  lastSent: readonly PipelineMessage[] = [];

  private async send(messages: PipelineMessage[]): Promise<void> {
    this.lastSent = messages;
    for (const m of messages) {
      if (m.type === 'flow_mod') this.counters.flowModsSent++;
      else this.counters.groupModsSent++;
    }
    // Incremental changes (the common case): one write (open, adds, commit), one round trip.
    // Large ones (a first sync, a reconnect) stream with back-pressure, each step acknowledged,
    // so a slow switch is not timed out on a reply it could not have sent yet. Both are
    // all-or-nothing at the switch.
    const startedAt = performance.now();
    let ok = false;
    try {
      if (messages.length <= PIPELINED_BUNDLE_MAX) await this.channel.bundlePipelined(messages);
      else await this.channel.bundle(messages);
      ok = true;
    } finally {
      this.opts.observer?.bundle?.((performance.now() - startedAt) / 1000, messages.length, ok);
    }
  }

  private async bindAll(added: readonly string[], removed: readonly string[]): Promise<void> {
    const name = this.opts.chassis;
    await Promise.all([
      ...added.map((id) => bindPort(this.store, id, name, 'up').catch((e: unknown) => this.log(`bind ${id}: ${String(e)}`))),
      ...removed.map((id) => bindPort(this.store, id, name, 'down').catch((e: unknown) => this.log(`unbind ${id}: ${String(e)}`))),
    ]);
  }

}
