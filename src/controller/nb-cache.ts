/**
 * The local controller's view of the north-bound store: only what this chassis needs.
 *
 * What it holds is said in subjects (model/collections.ts): the ports bound here (`port:<id>`,
 * from OVSDB's iface-ids) and, closed over what each collection declares it `wants`, their
 * networks, the routers on those networks and every network those routers reach (east-west
 * routing happens on the sending chassis), the local ports' security groups with their rules, and
 * the member ports of the remote groups those rules name (their addresses only: the member's
 * network is not pulled in). A record is kept while one of its subjects is held; records of
 * everything else are dropped as they stream by, so the cache does not grow with the cloud.
 * Chassis registrations are all kept (they grow with chassis, not networks).
 *
 * Consistency: one watch per prefix (`/nb/`, `/chassis/`) from the revision read at start. When a
 * subject becomes interesting its records are loaded with ranges at revision R; watch events for
 * it arriving while the ranges are in flight are buffered and only those newer than R are applied,
 * so nothing is lost (events carry whole records, so applying one twice is harmless). Every
 * record kept is decoded with its collection's checked decoder; one that does not decode is
 * treated as absent and reported (`invalid`).
 */
import { EventEmitter } from 'node:events';
import type { Store, Watch, WatchEvent } from '../store/types.js';
import { nbSubjects } from '../model/subjects.js';
import {
  aboutStored,
  collectionOfKey,
  GATEWAYS_SUBJECT,
  isRouterGateway,
  NB_COLLECTIONS,
  PORTS,
  portSubject,
  subjectKind,
  type CollectionDecl,
  type NbCollectionName,
} from '../model/collections.js';
import { CHASSIS_PREFIX, type ChassisRecord } from '../model/chassis.js';
import { chassisRecord } from '../model/record-decoders.js';
import { DecodeError, decodeJson, type Decoder } from '../model/decode.js';
import { NB_PREFIX, idFromKey, resourceKey } from '../model/keys.js';
import type {
  FloatingIpRecord,
  NetworkRecord,
  PortRecord,
  RouterRecord,
  SecurityGroupRecord,
  SecurityGroupRuleRecord,
  SubnetRecord,
} from '../model/records.js';

export interface NbSnapshot {
  readonly networks: ReadonlyMap<string, NetworkRecord>;
  readonly subnets: ReadonlyMap<string, SubnetRecord>;
  /** Ports of held networks and routers, the local ports, and members of held remote groups. */
  readonly ports: ReadonlyMap<string, PortRecord>;
  readonly routers: ReadonlyMap<string, RouterRecord>;
  readonly securityGroups: ReadonlyMap<string, SecurityGroupRecord>;
  readonly securityGroupRules: ReadonlyMap<string, SecurityGroupRuleRecord>;
  /** Floating IPs associated with the local ports. */
  readonly floatingIps: ReadonlyMap<string, FloatingIpRecord>;
  readonly chassis: ReadonlyMap<string, ChassisRecord>;
}

export interface NbCacheOptions {
  /** This chassis' name: gateway ports bound to it are held like its own ports. */
  readonly chassis?: string;
  /** A gateway chassis holds every router gateway port (to claim unbound ones). */
  readonly gateway?: boolean;
}

export interface NbCacheEvents {
  /** Something in the snapshot changed (coalesced). */
  change: [];
  /** A watch batch changed nothing this chassis holds (its revision is reflected already). */
  idle: [revision: number];
  /** The watch lost history (compaction); the cache reloaded itself. */
  resync: [reason: string];
  /** A stored record failed its checked decoder; it is treated as absent. */
  invalid: [key: string, reason: string];
  error: [err: Error];
}

type AnyDecl = CollectionDecl<unknown>;

/** Subjects loaded by a range of their collections (port subjects are read one by one). */
const RANGED = new Set(['net', 'router', 'sg', 'sgm', 'ext', 'fip', 'gw']);

export class NbCache extends EventEmitter<NbCacheEvents> {
  /** Held records per collection name. */
  private readonly held = new Map<string, Map<string, unknown>>(NB_COLLECTIONS.map((c) => [c.name, new Map()]));
  private readonly chassis = new Map<string, ChassisRecord>();
  /** Port ids plugged into this chassis' br-int (from OVSDB). */
  private localPortIds = new Set<string>();
  /** Held subjects with the revision they were loaded at. */
  private readonly loaded = new Map<string, number>();
  /** Being loaded: watch events about them wait here. */
  private readonly loading = new Map<string, WatchEvent[]>();
  private watches: Watch[] = [];
  /** The north-bound watch (routed where the store can). */
  private nbWatch: Watch | undefined;
  private closed = false;
  private changeQueued = false;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private nbRevision = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: NbCacheOptions = {},
  ) {
    super();
  }

  async start(): Promise<void> {
    const chassis = await this.store.range(CHASSIS_PREFIX);
    for (const kv of chassis.kvs) {
      const rec = this.decode(kv.key, kv.value, chassisRecord);
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
    // A gateway chassis holds every router gateway port from the start (before any local port).
    if (this.opts.gateway) {
      await this.refreshInterest();
      this.queueChange();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const watches = this.watches;
    this.watches = [];
    await Promise.all(watches.map((w) => w.cancel()));
  }

  private map<R>(c: CollectionDecl<R> | NbCollectionName): Map<string, R> {
    return this.held.get(typeof c === 'string' ? c : c.name) as Map<string, R>;
  }

  snapshot(): NbSnapshot {
    return {
      networks: this.map('networks'),
      subnets: this.map('subnets'),
      ports: this.map('ports'),
      routers: this.map('routers'),
      securityGroups: this.map('security-groups'),
      securityGroupRules: this.map('security-group-rules'),
      floatingIps: this.map('floatingips'),
      chassis: this.chassis,
    };
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
  sizes(): Record<'networks' | 'subnets' | 'ports' | 'routers' | 'securityGroups' | 'securityGroupRules' | 'floatingIps' | 'chassis', number> {
    const s = this.snapshot();
    return {
      floatingIps: s.floatingIps.size,
      networks: s.networks.size,
      subnets: s.subnets.size,
      ports: s.ports.size,
      routers: s.routers.size,
      securityGroups: s.securityGroups.size,
      securityGroupRules: s.securityGroupRules.size,
      chassis: s.chassis.size,
    };
  }

  /** Held subjects (for tests and status). */
  subjects(): string[] {
    return [...this.loaded.keys()].sort();
  }

  /** The port ids plugged in locally; loads their records and everything they reach. */
  async setLocalPorts(ids: ReadonlySet<string>): Promise<void> {
    const added = [...ids].filter((id) => !this.localPortIds.has(id));
    this.localPortIds = new Set(ids);
    await this.updateInterest();
    const ports = this.map(PORTS);
    await Promise.all(
      added
        .filter((id) => !ports.has(id))
        .map(async (id) => {
          const key = resourceKey('ports', id);
          const kv = await this.store.get(key);
          const rec = kv ? this.decode(key, kv.value, PORTS.decode) : undefined;
          // A watch event may have brought a newer record meanwhile; keep that one.
          if (rec && !ports.has(id)) ports.set(id, rec);
        }),
    );
    await this.refreshInterest();
    this.queueChange();
  }

  /** The interest closure: the local ports, then what each held record declares it wants. */
  private wanted(): Set<string> {
    const wanted = new Set<string>();
    for (const id of this.localPortIds) wanted.add(portSubject(id));
    if (this.opts.gateway) wanted.add(GATEWAYS_SUBJECT);
    for (const id of this.hostedGatewayPorts()) wanted.add(portSubject(id));
    for (let grew = true; grew; ) {
      grew = false;
      for (const c of NB_COLLECTIONS) {
        const wants = (c as AnyDecl).wants;
        if (!wants) continue;
        for (const rec of this.map<unknown>(c.name).values()) {
          for (const s of wants(rec, wanted)) {
            if (!wanted.has(s)) {
              wanted.add(s);
              grew = true;
            }
          }
        }
      }
    }
    return wanted;
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
            const wanted = this.wanted();
            const dropped = [...this.loaded.keys()].filter((s) => !wanted.has(s));
            if (dropped.length > 0) {
              for (const s of dropped) this.loaded.delete(s);
              this.dropUnheld(new Set(dropped.map(subjectKind)));
              void this.updateInterest();
            }
            const toLoad = [...wanted].filter((s) => RANGED.has(subjectKind(s)) && !this.loaded.has(s) && !this.loading.has(s));
            if (toLoad.length === 0) break;
            await this.load(toLoad);
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

  /** Router gateway ports held and bound to this chassis (it hosts their gateway). */
  hostedGatewayPorts(): string[] {
    const me = this.opts.chassis;
    if (me === undefined) return [];
    const out: string[] = [];
    for (const p of this.map(PORTS).values()) if (isRouterGateway(p) && p['binding:host_id'] === me) out.push(p.id);
    return out.sort();
  }

  /** Whether a record with these subjects belongs in the cache given what is held now. */
  private keeps(subjects: readonly string[]): boolean {
    for (const s of subjects) {
      if (this.loaded.has(s)) return true;
      if (s.startsWith('port:') && this.localPortIds.has(s.slice(5))) return true;
    }
    return false;
  }

  /** Drop the records of collections about `kinds` that no held subject keeps any more. */
  private dropUnheld(kinds: ReadonlySet<string>): void {
    for (const c of NB_COLLECTIONS) {
      const decl = c as AnyDecl;
      if (!decl.kinds.some((k) => kinds.has(k))) continue;
      const m = this.map<unknown>(c.name);
      for (const [id, rec] of m) {
        const subj = decl.about(id, rec as Record<string, unknown>);
        if (!subj || !this.keeps(subj)) m.delete(id);
      }
    }
  }

  /** One round trip for a batch of subjects: ranges of the collections about them, then buffered events. */
  private async load(subjects: readonly string[]): Promise<void> {
    for (const s of subjects) this.loading.set(s, []);
    try {
      // Routed before the ranges are read: nothing after their revision is routed away.
      await this.updateInterest();
      const set = new Set(subjects);
      const kinds = new Set(subjects.map(subjectKind));
      const colls = NB_COLLECTIONS.filter((c) => (c as AnyDecl).kinds.some((k) => kinds.has(k)));
      const ranges = await Promise.all(colls.map((c) => this.store.range(c.prefix)));
      const at = Math.min(...ranges.map((r) => r.revision));
      colls.forEach((c, i) => {
        const decl = c as AnyDecl;
        const m = this.map<unknown>(c.name);
        // Ranges return every record of a collection; only the wanted ones are decoded.
        for (const kv of ranges[i].kvs) {
          const subj = aboutStored(decl, kv.key, kv.value);
          if (!subj || !subj.some((s) => set.has(s))) continue;
          const rec = this.decode(kv.key, kv.value, decl.decode);
          if (rec !== undefined) m.set(idFromKey(kv.key), rec);
        }
      });
      const buffered: WatchEvent[] = [];
      for (const s of subjects) {
        buffered.push(...(this.loading.get(s) ?? []));
        this.loading.delete(s);
        this.loaded.set(s, at);
      }
      buffered.sort((a, b) => a.revision - b.revision);
      for (const ev of buffered) if (ev.revision > at) this.applyNbEvent(ev);
    } catch (err) {
      for (const s of subjects) this.loading.delete(s);
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
        // Ports may have moved, routers gained interfaces, rules named new groups: the interest
        // closure may change.
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
   * Tell a store that routes watches what this chassis holds (its local ports, the subjects
   * loaded or being loaded), so it stops sending the rest. Called before every range that loads
   * something new, so events after the range's revision are never routed away.
   */
  private updateInterest(): void | Promise<void> {
    const w = this.nbWatch;
    if (!w?.setInterest || this.closed) return;
    const subjects = new Set<string>();
    for (const id of this.localPortIds) subjects.add(portSubject(id));
    for (const s of this.loaded.keys()) subjects.add(s);
    for (const s of this.loading.keys()) subjects.add(s);
    return w.setInterest(nbSubjects, subjects);
  }

  /**
   * Apply one watch event; true if the cache changed. The subjects come from the record's
   * header where they can (no parse); the value is decoded once, and only if the record is kept.
   */
  private applyNbEvent(ev: WatchEvent): boolean {
    const decl = collectionOfKey(ev.key);
    if (!decl) return false;
    const id = idFromKey(ev.key);
    const m = this.map<unknown>(decl.name);
    const held = m.get(id);
    let subj: readonly string[] | undefined;
    if (ev.type === 'put') subj = aboutStored(decl, ev.key, ev.value ?? '');
    else subj = held === undefined ? decl.about(id, {}) : decl.about(id, held as Record<string, unknown>);
    subj ??= [];
    // Being loaded: the range will cover older changes; keep the event for after the range.
    for (const s of subj) {
      const buffer = this.loading.get(s);
      if (buffer) {
        buffer.push(ev);
        return false;
      }
    }
    if (ev.type === 'delete') return m.delete(id);
    let loadedAt = -1;
    for (const s of subj) loadedAt = Math.max(loadedAt, this.loaded.get(s) ?? -1);
    if (loadedAt >= 0 && ev.revision <= loadedAt) return false; // the range already had it
    if (!this.keeps(subj)) {
      // e.g. a port that left one of our networks for one we do not hold.
      return m.delete(id);
    }
    const rec = this.decode(ev.key, ev.value ?? '', decl.decode);
    if (rec === undefined) return m.delete(id);
    m.set(id, rec);
    return true;
  }

  /** Decode a stored record; undefined (and `invalid` emitted) if it does not decode. */
  private decode<R>(key: string, text: string, d: Decoder<R>): R | undefined {
    try {
      return decodeJson(text, d);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.emit('invalid', key, err.message);
      return undefined;
    }
  }

  /** Apply chassis registrations; true if one of them matters to the flows here. */
  private applyChassis(events: readonly WatchEvent[]): boolean {
    let relevant = false;
    const ports = this.map(PORTS);
    for (const ev of events) {
      const name = ev.key.slice(CHASSIS_PREFIX.length);
      if (ev.type === 'delete') this.chassis.delete(name);
      else {
        const rec = this.decode(ev.key, ev.value ?? '', chassisRecord);
        if (rec) this.chassis.set(name, rec);
        else this.chassis.delete(name);
      }
      // Only chassis that hold ports we know about matter to the flows.
      if (!relevant) for (const p of ports.values()) if (p['binding:host_id'] === name) relevant = true;
    }
    if (relevant) this.queueChange();
    return relevant;
  }

  /** History was compacted under us: reload everything from a fresh range and watch again. */
  private async resync(reason: string): Promise<void> {
    if (this.closed) return;
    await Promise.all(this.watches.map((w) => w.cancel()));
    this.watches = [];
    for (const m of this.held.values()) m.clear();
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
