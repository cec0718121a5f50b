/**
 * The local controller's view of the north-bound store: only what this chassis needs.
 *
 * It holds the records of the ports bound here (by id, from OVSDB's iface-ids), and for every
 * network one of those ports is on ("networks of interest"): the network, its subnets and all of
 * its ports. Records of other networks are dropped as they stream by, so the cache does not grow
 * with networks this chassis has no port on. Chassis registrations are all kept (they grow with
 * chassis, not networks).
 *
 * Consistency: one watch per prefix (`/nb/`, `/chassis/`) from the initial range's revision + 1.
 * When a network becomes interesting its records are loaded with a range at revision R; watch
 * events for that network arriving while the range is in flight are buffered and only those
 * newer than R are applied, so nothing is lost or applied twice.
 */
import { EventEmitter } from 'node:events';
import type { Store, Watch, WatchEvent } from '../store/types.js';
import { CHASSIS_PREFIX, type ChassisRecord } from '../model/chassis.js';
import { NB_PREFIX, NETWORKS_PREFIX, PORTS_PREFIX, SUBNETS_PREFIX, idFromKey, resourceKey } from '../model/keys.js';
import type { NetworkRecord, PortRecord, SubnetRecord } from '../model/records.js';

export interface NbSnapshot {
  readonly networks: ReadonlyMap<string, NetworkRecord>;
  readonly subnets: ReadonlyMap<string, SubnetRecord>;
  readonly ports: ReadonlyMap<string, PortRecord>;
  readonly chassis: ReadonlyMap<string, ChassisRecord>;
}

export interface NbCacheEvents {
  /** Something in the snapshot changed (coalesced per watch batch). */
  change: [];
  /** The watch lost history (compaction) or failed; the cache reloaded itself. */
  resync: [reason: string];
  error: [err: Error];
}

type Collection = 'networks' | 'subnets' | 'ports';

function collectionOf(key: string): Collection | undefined {
  if (key.startsWith(NETWORKS_PREFIX)) return 'networks';
  if (key.startsWith(SUBNETS_PREFIX)) return 'subnets';
  if (key.startsWith(PORTS_PREFIX)) return 'ports';
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
  private readonly chassis = new Map<string, ChassisRecord>();
  /** Port ids plugged into this chassis' br-int (from OVSDB). */
  private localPortIds = new Set<string>();
  /** Networks whose records are loaded, with the revision they were loaded at. */
  private readonly loaded = new Map<string, number>();
  /** Networks being loaded: watch events for them wait here. */
  private readonly loading = new Map<string, WatchEvent[]>();
  private watches: Watch[] = [];
  private closed = false;
  private changeQueued = false;
  /** Revision of the last /nb/ event applied (or of the initial range). */
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
        onEvents: (events) => this.applyChassis(events),
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
    return { networks: this.networks, subnets: this.subnets, ports: this.ports, chassis: this.chassis };
  }

  /** Revision of the north-bound data the snapshot reflects. */
  revision(): number {
    return this.nbRevision;
  }

  /** The port ids plugged in locally; loads their records and their networks. */
  async setLocalPorts(ids: ReadonlySet<string>): Promise<void> {
    const added = [...ids].filter((id) => !this.localPortIds.has(id));
    this.localPortIds = new Set(ids);
    for (const id of added) {
      if (this.ports.has(id)) continue;
      const kv = await this.store.get(resourceKey('ports', id));
      const rec = parse<PortRecord>(kv?.value);
      // A newer watch event may have arrived meanwhile; keep whichever is newer.
      if (rec && kv && !this.ports.has(id)) this.ports.set(id, rec);
    }
    await this.refreshInterest();
    this.queueChange();
  }

  /** Networks this chassis needs: those of its local ports. */
  private interestingNetworks(): Set<string> {
    const nets = new Set<string>();
    for (const id of this.localPortIds) {
      const port = this.ports.get(id);
      if (port) nets.add(port.network_id);
    }
    return nets;
  }

  private async refreshInterest(): Promise<void> {
    const wanted = this.interestingNetworks();
    for (const net of [...this.loaded.keys()]) {
      if (!wanted.has(net)) this.dropNetwork(net);
    }
    const toLoad = [...wanted].filter((n) => !this.loaded.has(n) && !this.loading.has(n));
    await Promise.all(toLoad.map((n) => this.loadNetwork(n)));
  }

  private dropNetwork(net: string): void {
    this.loaded.delete(net);
    this.networks.delete(net);
    for (const [id, s] of this.subnets) if (s.network_id === net) this.subnets.delete(id);
    for (const [id, p] of this.ports) {
      if (p.network_id === net && !this.localPortIds.has(id)) this.ports.delete(id);
    }
  }

  private async loadNetwork(net: string): Promise<void> {
    this.loading.set(net, []);
    try {
      const [netKv, subnets, ports] = await Promise.all([
        this.store.get(resourceKey('networks', net)),
        this.store.range(SUBNETS_PREFIX),
        this.store.range(PORTS_PREFIX),
      ]);
      // The three reads may be at different revisions; take the oldest as the load revision so
      // that buffered events newer than it are re-applied (applying an event twice is harmless:
      // events carry whole records).
      const at = Math.min(subnets.revision, ports.revision);
      const rec = parse<NetworkRecord>(netKv?.value);
      if (rec) this.networks.set(net, rec);
      for (const kv of subnets.kvs) {
        const s = parse<SubnetRecord>(kv.value);
        if (s?.network_id === net) this.subnets.set(s.id, s);
      }
      for (const kv of ports.kvs) {
        const p = parse<PortRecord>(kv.value);
        if (p?.network_id === net) this.ports.set(p.id, p);
      }
      const buffered = this.loading.get(net) ?? [];
      this.loading.delete(net);
      this.loaded.set(net, at);
      for (const ev of buffered) if (ev.revision > at) this.applyNbEvent(ev);
    } catch (err) {
      this.loading.delete(net);
      throw err;
    }
  }

  private watchNb(from: number): Watch {
    return this.store.watch(NB_PREFIX, from, {
      onEvents: (events, revision) => {
        for (const ev of events) this.applyNbEvent(ev);
        this.nbRevision = revision;
        // A port may have moved between networks or a local port may just have appeared.
        void this.refreshInterest().then(
          () => this.queueChange(),
          (err: unknown) => this.emit('error', err instanceof Error ? err : new Error(String(err))),
        );
        this.queueChange();
      },
      onCompacted: () => void this.resync('north-bound watch compacted'),
      onError: (err) => this.emit('error', err),
    });
  }

  /** Which network an event belongs to, if we can tell. */
  private networkOf(ev: WatchEvent, coll: Collection): string | undefined {
    const id = idFromKey(ev.key);
    if (coll === 'networks') return id;
    const rec = parse<{ network_id?: string }>(ev.value);
    if (rec?.network_id) return rec.network_id;
    return (coll === 'ports' ? this.ports.get(id) : this.subnets.get(id))?.network_id;
  }

  private applyNbEvent(ev: WatchEvent): void {
    const coll = collectionOf(ev.key);
    if (!coll) return;
    const id = idFromKey(ev.key);
    const net = this.networkOf(ev, coll);
    if (net !== undefined && this.loading.has(net)) {
      this.loading.get(net)!.push(ev);
      return;
    }
    if (ev.type === 'put' && net !== undefined && this.loaded.has(net) && ev.revision <= this.loaded.get(net)!) return;
    const isLocal = coll === 'ports' && this.localPortIds.has(id);
    const relevant = isLocal || (net !== undefined && this.loaded.has(net));
    if (ev.type === 'delete') {
      if (coll === 'networks') this.networks.delete(id);
      else if (coll === 'subnets') this.subnets.delete(id);
      else this.ports.delete(id);
      return;
    }
    if (!relevant) {
      // A port that left one of our networks for an uninteresting one.
      if (coll === 'ports' && this.ports.has(id)) this.ports.delete(id);
      return;
    }
    if (coll === 'networks') {
      const rec = parse<NetworkRecord>(ev.value);
      if (rec) this.networks.set(id, rec);
    } else if (coll === 'subnets') {
      const rec = parse<SubnetRecord>(ev.value);
      if (rec) this.subnets.set(id, rec);
    } else {
      const rec = parse<PortRecord>(ev.value);
      if (rec) this.ports.set(id, rec);
    }
  }

  private applyChassis(events: readonly WatchEvent[]): void {
    for (const ev of events) {
      const name = ev.key.slice(CHASSIS_PREFIX.length);
      if (ev.type === 'delete') this.chassis.delete(name);
      else {
        const rec = parse<ChassisRecord>(ev.value);
        if (rec) this.chassis.set(name, rec);
      }
    }
    this.queueChange();
  }

  /** History was compacted under us: reload everything from a fresh range and watch again. */
  private async resync(reason: string): Promise<void> {
    if (this.closed) return;
    await Promise.all(this.watches.map((w) => w.cancel()));
    this.watches = [];
    this.networks.clear();
    this.subnets.clear();
    this.ports.clear();
    this.chassis.clear();
    this.loaded.clear();
    this.loading.clear();
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
