/**
 * The local controller's view of the north-bound store: only what this chassis needs.
 *
 * It holds the records of the ports bound here (by id, from OVSDB's iface-ids) and, for every
 * network of interest, the network, its subnets and all of its ports. Networks of interest are
 * the networks of the local ports, closed over routers: a router with an interface on a network
 * of interest is a router of interest, and every network it has an interface on is of interest
 * too (east-west routing happens on the sending chassis, so it must know every destination the
 * router reaches). Records of other networks and routers are dropped as they stream by, so the
 * cache does not grow with networks this chassis cannot reach. Chassis registrations are all
 * kept (they grow with chassis, not networks).
 *
 * Consistency: one watch per prefix (`/nb/`, `/chassis/`) from the revision read at start. When
 * a network or router becomes interesting its records are loaded with a range at revision R;
 * watch events for it arriving while the range is in flight are buffered and only those newer
 * than R are applied, so nothing is lost (events carry whole records, so applying one twice is
 * harmless).
 */
import { EventEmitter } from 'node:events';
import type { Store, Watch, WatchEvent } from '../store/types.js';
import type { RecordHeader } from '../model/record-codec.js';
import {
  aboutFields,
  aboutText,
  isRouterInterface,
  nbSubjects,
  networkSubject,
  portSubject,
  routerSubject,
  type RecordAbout,
} from '../model/subjects.js';
import { CHASSIS_PREFIX, type ChassisRecord } from '../model/chassis.js';
import {
  NB_PREFIX,
  NETWORKS_PREFIX,
  PORTS_PREFIX,
  ROUTERS_PREFIX,
  SUBNETS_PREFIX,
  idFromKey,
  resourceKey,
} from '../model/keys.js';
import {
  type NetworkRecord,
  type PortRecord,
  type RouterRecord,
  type SubnetRecord,
} from '../model/records.js';

export interface NbSnapshot {
  readonly networks: ReadonlyMap<string, NetworkRecord>;
  readonly subnets: ReadonlyMap<string, SubnetRecord>;
  readonly ports: ReadonlyMap<string, PortRecord>;
  readonly routers: ReadonlyMap<string, RouterRecord>;
  readonly chassis: ReadonlyMap<string, ChassisRecord>;
}

export interface NbCacheEvents {
  /** Something in the snapshot changed (coalesced). */
  change: [];
  /** A watch batch changed nothing this chassis holds (its revision is reflected already). */
  idle: [revision: number];
  /** The watch lost history (compaction); the cache reloaded itself. */
  resync: [reason: string];
  error: [err: Error];
}

type Collection = 'networks' | 'subnets' | 'ports' | 'routers';

function collectionOf(key: string): Collection | undefined {
  if (key.startsWith(NETWORKS_PREFIX)) return 'networks';
  if (key.startsWith(SUBNETS_PREFIX)) return 'subnets';
  if (key.startsWith(PORTS_PREFIX)) return 'ports';
  if (key.startsWith(ROUTERS_PREFIX)) return 'routers';
  return undefined;
}

function parse<T>(value: string | undefined): T | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}

export class NbCache extends EventEmitter<NbCacheEvents> {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly subnets = new Map<string, SubnetRecord>();
  private readonly ports = new Map<string, PortRecord>();
  private readonly routers = new Map<string, RouterRecord>();
  private readonly chassis = new Map<string, ChassisRecord>();
  /** Port ids plugged into this chassis' br-int (from OVSDB). */
  private localPortIds = new Set<string>();
  /** Loaded networks / routers with the revision they were loaded at. */
  private readonly loadedNets = new Map<string, number>();
  private readonly loadedRouters = new Map<string, number>();
  /** Being loaded: watch events for them wait here. */
  private readonly loadingNets = new Map<string, WatchEvent[]>();
  private readonly loadingRouters = new Map<string, WatchEvent[]>();
  private watches: Watch[] = [];
  /** The north-bound watch (routed where the store can). */
  private nbWatch: Watch | undefined;
  private closed = false;
  private changeQueued = false;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private nbRevision = 0;

  constructor(private readonly store: Store) {
    super();
  }

  async start(): Promise<void> {
    const chassis = await this.store.range(CHASSIS_PREFIX);
    for (const kv of chassis.kvs) {
      const rec = parse<ChassisRecord>(kv.value);
      if (rec) this.chassis.set(rec.name, rec);
    }
    this.watches.push(
      this.store.watch(CHASSIS_PREFIX, chassis.revision + 1, {
        onEvents: (events, revision) => {
          this.seen(revision);
          if (!this.applyChassis(events)) this.emit('idle', revision);
        },
        onCompacted: () => void this.resync('chassis watch compacted'),
        onError: (err) => this.emit('error', err),
      }),
    );
    this.nbRevision = await this.store.revision();
    this.watches.push(this.watchNb(this.nbRevision + 1));
  }

  async close(): Promise<void> {
    this.closed = true;
    const watches = this.watches;
    this.watches = [];
    await Promise.all(watches.map((w) => w.cancel()));
  }

  snapshot(): NbSnapshot {
    return { networks: this.networks, subnets: this.subnets, ports: this.ports, routers: this.routers, chassis: this.chassis };
  }

  /** Store revision the snapshot reflects (every watched change up to it is applied). */
  revision(): number {
    return this.nbRevision;
  }

  /** A watched change at `revision` was applied (also used for watches kept outside the cache). */
  seen(revision: number): void {
    if (revision > this.nbRevision) this.nbRevision = revision;
  }

  /** Sizes, for status and the "does not grow" tests. */
  sizes(): { networks: number; subnets: number; ports: number; routers: number; chassis: number } {
    return {
      networks: this.networks.size,
      subnets: this.subnets.size,
      ports: this.ports.size,
      routers: this.routers.size,
      chassis: this.chassis.size,
    };
  }

  /** The port ids plugged in locally; loads their records and everything they reach. */
  async setLocalPorts(ids: ReadonlySet<string>): Promise<void> {
    const added = [...ids].filter((id) => !this.localPortIds.has(id));
    this.localPortIds = new Set(ids);
    await this.updateInterest();
    await Promise.all(
      added
        .filter((id) => !this.ports.has(id))
        .map(async (id) => {
          const rec = parse<PortRecord>((await this.store.get(resourceKey('ports', id)))?.value);
          // A watch event may have brought a newer record meanwhile; keep that one.
          if (rec && !this.ports.has(id)) this.ports.set(id, rec);
        }),
    );
    await this.refreshInterest();
    this.queueChange();
  }

  /** The interest closure: local ports' networks, routers on them, networks of those routers. */
  private wanted(): { nets: Set<string>; routers: Set<string> } {
    const nets = new Set<string>();
    const routers = new Set<string>();
    for (const id of this.localPortIds) {
      const port = this.ports.get(id);
      if (port) nets.add(port.network_id);
    }
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of this.ports.values()) {
        if (!isRouterInterface(p) || !p.device_id) continue;
        if (nets.has(p.network_id) && !routers.has(p.device_id)) {
          routers.add(p.device_id);
          grew = true;
        }
        if (routers.has(p.device_id) && !nets.has(p.network_id)) {
          nets.add(p.network_id);
          grew = true;
        }
      }
    }
    return { nets, routers };
  }

  /** Load what became interesting and drop what no longer is, until stable. Serialized. */
  private refreshInterest(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.refreshAgain = false;
          for (let round = 0; round < 16; round++) {
            const { nets, routers } = this.wanted();
            const held = this.loadedRouters.size + this.loadedNets.size;
            for (const r of [...this.loadedRouters.keys()]) if (!routers.has(r)) this.dropRouter(r);
            for (const n of [...this.loadedNets.keys()]) if (!nets.has(n)) this.dropNetwork(n);
            if (this.loadedRouters.size + this.loadedNets.size !== held) void this.updateInterest();
            const netsToLoad = [...nets].filter((n) => !this.loadedNets.has(n) && !this.loadingNets.has(n));
            const routersToLoad = [...routers].filter((r) => !this.loadedRouters.has(r) && !this.loadingRouters.has(r));
            if (netsToLoad.length === 0 && routersToLoad.length === 0) break;
            await this.load(netsToLoad, routersToLoad);
          }
        } while (this.refreshAgain && !this.closed);
      } finally {
        this.refreshing = undefined;
      }
    };
    // Assign before the body runs: a body with nothing to await finishes synchronously.
    let started!: () => void;
    this.refreshing = new Promise<void>((resolve) => (started = resolve)).then(run);
    started();
    return this.refreshing;
  }

  private dropNetwork(net: string): void {
    this.loadedNets.delete(net);
    this.networks.delete(net);
    for (const [id, s] of this.subnets) if (s.network_id === net) this.subnets.delete(id);
    for (const [id, p] of this.ports) if (p.network_id === net && !this.keepsPort(p)) this.ports.delete(id);
  }

  private dropRouter(router: string): void {
    this.loadedRouters.delete(router);
    this.routers.delete(router);
    for (const [id, p] of this.ports) if (p.device_id === router && !this.keepsPort(p)) this.ports.delete(id);
  }

  /** Whether a port record belongs in the cache given what is loaded now. */
  private keepsPort(p: PortRecord): boolean {
    return (
      this.localPortIds.has(p.id) ||
      this.loadedNets.has(p.network_id) ||
      (isRouterInterface(p) && this.loadedRouters.has(p.device_id))
    );
  }

  /** One round trip for a batch of networks and routers: ranges, then buffered events. */
  private async load(nets: readonly string[], routers: readonly string[]): Promise<void> {
    for (const n of nets) this.loadingNets.set(n, []);
    for (const r of routers) this.loadingRouters.set(r, []);
    try {
      // Routed before the ranges are read: nothing after their revision is routed away.
      await this.updateInterest();
      const netSet = new Set(nets);
      const routerSet = new Set(routers);
      const [networks, subnets, ports, routerKvs] = await Promise.all([
        nets.length > 0 ? this.store.range(NETWORKS_PREFIX) : undefined,
        nets.length > 0 ? this.store.range(SUBNETS_PREFIX) : undefined,
        this.store.range(PORTS_PREFIX),
        routers.length > 0 ? this.store.range(ROUTERS_PREFIX) : undefined,
      ]);
      const at = Math.min(
        ...[networks, subnets, ports, routerKvs].filter((r) => r !== undefined).map((r) => r.revision),
      );
      // Ranges return every record of a collection; only the wanted ones are parsed.
      const wanted = (kv: { key: string; value: string }): boolean => {
        const s = aboutText(kv.key, kv.value);
        return s === undefined || (s.network !== undefined && netSet.has(s.network)) || (s.router !== undefined && routerSet.has(s.router));
      };
      for (const kv of networks?.kvs ?? []) {
        const rec = wanted(kv) ? parse<NetworkRecord>(kv.value) : undefined;
        if (rec && netSet.has(rec.id)) this.networks.set(rec.id, rec);
      }
      for (const kv of subnets?.kvs ?? []) {
        const rec = wanted(kv) ? parse<SubnetRecord>(kv.value) : undefined;
        if (rec && netSet.has(rec.network_id)) this.subnets.set(rec.id, rec);
      }
      for (const kv of routerKvs?.kvs ?? []) {
        const rec = wanted(kv) ? parse<RouterRecord>(kv.value) : undefined;
        if (rec && routerSet.has(rec.id)) this.routers.set(rec.id, rec);
      }
      for (const kv of ports.kvs) {
        const rec = wanted(kv) ? parse<PortRecord>(kv.value) : undefined;
        if (rec && (netSet.has(rec.network_id) || (isRouterInterface(rec) && routerSet.has(rec.device_id)))) {
          this.ports.set(rec.id, rec);
        }
      }
      const buffered: WatchEvent[] = [];
      for (const n of nets) {
        buffered.push(...(this.loadingNets.get(n) ?? []));
        this.loadingNets.delete(n);
        this.loadedNets.set(n, at);
      }
      for (const r of routers) {
        buffered.push(...(this.loadingRouters.get(r) ?? []));
        this.loadingRouters.delete(r);
        this.loadedRouters.set(r, at);
      }
      buffered.sort((a, b) => a.revision - b.revision);
      for (const ev of buffered) if (ev.revision > at) this.applyNbEvent(ev);
    } catch (err) {
      for (const n of nets) this.loadingNets.delete(n);
      for (const r of routers) this.loadingRouters.delete(r);
      void this.updateInterest();
      throw err;
    }
  }

  private watchNb(from: number): Watch {
    const w = this.store.watch(NB_PREFIX, from, {
      onEvents: (events, revision) => {
        let changed = false;
        for (const ev of events) if (this.applyNbEvent(ev)) changed = true;
        this.seen(revision);
        // Events about what this chassis does not hold change nothing: no sync is woken.
        if (!changed) {
          this.emit('idle', revision);
          return;
        }
        // Ports may have moved, routers gained interfaces: the interest closure may change.
        this.refreshInterest().then(
          () => this.queueChange(),
          (err: unknown) => this.emit('error', err instanceof Error ? err : new Error(String(err))),
        );
        this.queueChange();
      },
      onCompacted: () => void this.resync('north-bound watch compacted'),
      onError: (err) => this.emit('error', err),
    });
    this.nbWatch = w;
    void this.updateInterest();
    return w;
  }

  /**
   * Tell a store that routes watches what this chassis holds (its local ports, the networks and
   * routers loaded or being loaded), so it stops sending the rest. Called before every range
   * that loads something new, so events after the range's revision are never routed away.
   */
  private updateInterest(): void | Promise<void> {
    const w = this.nbWatch;
    if (!w?.setInterest || this.closed) return;
    const subjects = new Set<string>();
    for (const id of this.localPortIds) subjects.add(portSubject(id));
    for (const n of this.loadedNets.keys()) subjects.add(networkSubject(n));
    for (const n of this.loadingNets.keys()) subjects.add(networkSubject(n));
    for (const r of this.loadedRouters.keys()) subjects.add(routerSubject(r));
    for (const r of this.loadingRouters.keys()) subjects.add(routerSubject(r));
    return w.setInterest(nbSubjects, subjects);
  }

  /** The subject of a parsed record, or (for a delete) of the record held under that key. */
  private subjectOf(key: string, coll: Collection, rec: Record<string, unknown> | undefined): RecordAbout {
    const id = idFromKey(key);
    const held = coll === 'subnets' ? this.subnets.get(id) : coll === 'ports' ? this.ports.get(id) : undefined;
    return aboutFields(key, (rec as Partial<RecordHeader> | undefined) ?? held);
  }

  /**
   * Apply one watch event; true if the cache changed. The subject comes from the record's
   * header where it can (no parse); the value is parsed once, and only if the record is kept.
   */
  private applyNbEvent(ev: WatchEvent): boolean {
    const coll = collectionOf(ev.key);
    if (!coll) return false;
    const id = idFromKey(ev.key);
    let rec: Record<string, unknown> | undefined;
    let subj: RecordAbout | undefined;
    if (ev.type === 'put') {
      subj = aboutText(ev.key, ev.value ?? '');
      if (!subj) {
        rec = parse<Record<string, unknown>>(ev.value);
        subj = this.subjectOf(ev.key, coll, rec);
      }
    } else {
      subj = this.subjectOf(ev.key, coll, undefined);
    }
    // Being loaded: the range will cover older changes; keep the event for after the range.
    if (subj.network !== undefined && this.loadingNets.has(subj.network)) {
      this.loadingNets.get(subj.network)!.push(ev);
      return false;
    }
    if (subj.router !== undefined && this.loadingRouters.has(subj.router)) {
      this.loadingRouters.get(subj.router)!.push(ev);
      return false;
    }
    const map = this.mapOf(coll);
    if (ev.type === 'delete') return map.delete(id);
    const loadedAt = Math.max(
      subj.network !== undefined ? (this.loadedNets.get(subj.network) ?? -1) : -1,
      subj.router !== undefined ? (this.loadedRouters.get(subj.router) ?? -1) : -1,
    );
    if (loadedAt >= 0 && ev.revision <= loadedAt) return false; // the range already had it
    const relevant =
      (coll === 'ports' && this.localPortIds.has(id)) ||
      (subj.network !== undefined && this.loadedNets.has(subj.network)) ||
      (subj.router !== undefined && this.loadedRouters.has(subj.router));
    if (!relevant) {
      // e.g. a port that left one of our networks for one we do not hold.
      return map.delete(id);
    }
    rec ??= parse<Record<string, unknown>>(ev.value);
    if (!rec) return false;
    map.set(id, rec);
    return true;
  }

  private mapOf(coll: Collection): Map<string, unknown> {
    switch (coll) {
      case 'networks':
        return this.networks;
      case 'subnets':
        return this.subnets;
      case 'ports':
        return this.ports;
      case 'routers':
        return this.routers;
    }
  }

  /** Apply chassis registrations; true if one of them matters to the flows here. */
  private applyChassis(events: readonly WatchEvent[]): boolean {
    let relevant = false;
    for (const ev of events) {
      const name = ev.key.slice(CHASSIS_PREFIX.length);
      if (ev.type === 'delete') this.chassis.delete(name);
      else {
        const rec = parse<ChassisRecord>(ev.value);
        if (rec) this.chassis.set(name, rec);
      }
      // Only chassis that hold ports we know about matter to the flows.
      if (!relevant) for (const p of this.ports.values()) if (p['binding:host_id'] === name) relevant = true;
    }
    if (relevant) this.queueChange();
    return relevant;
  }

  /** History was compacted under us: reload everything from a fresh range and watch again. */
  private async resync(reason: string): Promise<void> {
    if (this.closed) return;
    await Promise.all(this.watches.map((w) => w.cancel()));
    this.watches = [];
    for (const m of [this.networks, this.subnets, this.ports, this.routers, this.chassis]) m.clear();
    this.loadedNets.clear();
    this.loadedRouters.clear();
    this.loadingNets.clear();
    this.loadingRouters.clear();
    const local = this.localPortIds;
    this.localPortIds = new Set();
    await this.start();
    await this.setLocalPorts(local);
    this.emit('resync', reason);
  }

  private queueChange(): void {
    if (this.changeQueued || this.closed) return;
    this.changeQueued = true;
    queueMicrotask(() => {
      this.changeQueued = false;
      this.emit('change');
    });
  }
}
