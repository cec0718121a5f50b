import Database from 'better-sqlite3';
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { InvalidStoreRequestError, LeaseNotFoundError, StoreClosedError, StoreUnavailableError } from './errors.js';
import { prefixEnd } from './keys.js';
import { KeptLeases } from './kept-lease.js';
import { migrate } from './sqlite-schema.js';
import { planTxn, type KvReader, type TxnPlan } from './txn-plan.js';
import type {
  KeyValue,
  Lease,
  LeaseControl,
  LeaseInfo,
  RangeResult,
  Store,
  TxnRequest,
  TxnResult,
  Watch,
  WatchEvent,
  WatchHandlers,
} from './types.js';
import { WatchHub } from './watch-hub.js';

export interface SqliteStoreOptions {
  /** Revisions of watch history kept; older ones are compacted automatically. */
  readonly historyRevisions?: number;
  /** How often expired leases are collected. */
  readonly leaseCheckMs?: number;
}

interface KvRow {
  key: string;
  value: string;
  create_rev: number;
  mod_rev: number;
  version: number;
  lease: string | null;
}

interface Pending {
  /** Built inside the commit, so it sees every transaction queued before it. */
  readonly req: () => TxnRequest;
  resolve(r: TxnResult): void;
  reject(e: unknown): void;
}

const toKv = (r: KvRow): KeyValue => ({
  key: r.key,
  value: r.value,
  createRevision: r.create_rev,
  modRevision: r.mod_rev,
  version: r.version,
  ...(r.lease !== null ? { lease: r.lease } : {}),
});

/**
 * The embedded store: one SQLite file in WAL mode; a transaction is on disk (WAL fsynced) before
 * its promise resolves and survives `kill -9` or power loss. Transactions that arrive in the same
 * tick are committed together (group commit, one revision each). The fsync of the WAL does not
 * block the event loop: SQLite runs with synchronous=NORMAL (commit = write(2) into the WAL) and
 * the driver fsyncs the WAL file on the libuv thread pool, acknowledging (and notifying
 * watchers of) every batch committed before that fsync started; batches committed while an
 * fsync runs share the next one. Reads may see a committed transaction during its fsync (a
 * `kill -9` cannot lose it: it is in the OS page cache; only a power loss in that window could).
 * In-memory databases (no WAL) commit synchronously.
 * Watches are served from the `log` table and notified in-process after the fsync.
 *
 * Leases: expiry is checked by a timer. After a restart every lease gets a fresh full TTL of
 * grace (its holder could not send keepalives while the server was down), instead of expiring
 * at once and deleting every chassis.
 */
export class SqliteStore implements Store, LeaseControl {
  readonly kind = 'sqlite';
  readonly leaseControl: LeaseControl = this;
  private rev: number;
  private compactRev: number;
  private closed = false;
  private pending: Pending[] = [];
  private flushScheduled = false;
  private readonly kept = new KeptLeases(this);
  private readonly hub: WatchHub;
  private readonly leaseTimer: NodeJS.Timeout;
  private readonly historyRevisions: number;
  private readonly s;
  private readonly reader: KvReader;
  /** WAL path when commits are fsynced off-thread (file database in WAL mode). */
  private readonly walPath: string | undefined;
  private walFd: number | undefined;
  /** Acknowledgements waiting for the next WAL fsync, in commit order. */
  private syncWaiters: Array<(err?: Error) => void> = [];
  private syncing = false;
  private syncIdle: (() => void) | undefined;

  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    return new SqliteStore(new Database(path), options);
  }

  private constructor(
    private readonly db: Database.Database,
    options: SqliteStoreOptions,
  ) {
    const wal = db.pragma('journal_mode = WAL', { simple: true }) === 'wal' && !db.memory;
    this.walPath = wal ? `${db.name}-wal` : undefined;
    // WAL + NORMAL: a commit writes the WAL without fsync; `sync()` fsyncs it before any ack.
    db.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    this.historyRevisions = options.historyRevisions ?? 100_000;
    this.s = {
      meta: db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE name = ?'),
      setMeta: db.prepare('UPDATE meta SET value = ? WHERE name = ?'),
      get: db.prepare<[string], KvRow>('SELECT * FROM kv WHERE key = ?'),
      rangeAll: db.prepare<[], KvRow>('SELECT * FROM kv ORDER BY key'),
      rangeFrom: db.prepare<[string], KvRow>('SELECT * FROM kv WHERE key >= ? ORDER BY key'),
      range: db.prepare<[string, string], KvRow>('SELECT * FROM kv WHERE key >= ? AND key < ? ORDER BY key'),
      rangeKeys: db.prepare<[string, string], KvRow>(
        "SELECT key, '' AS value, create_rev, mod_rev, version, lease FROM kv WHERE key >= ? AND key < ? ORDER BY key",
      ),
      put: db.prepare('INSERT OR REPLACE INTO kv (key, value, create_rev, mod_rev, version, lease) VALUES (?, ?, ?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM kv WHERE key = ?'),
      logPut: db.prepare('INSERT INTO log (revision, key, type, value) VALUES (?, ?, ?, ?)'),
      logFrom: db.prepare<[number], { revision: number; key: string; type: number; value: string | null }>(
        'SELECT revision, key, type, value FROM log WHERE revision >= ? ORDER BY revision, key',
      ),
      logTrim: db.prepare('DELETE FROM log WHERE revision < ?'),
      leaseGet: db.prepare<[string], { id: number; ttl: number; expires_at: number }>('SELECT * FROM lease WHERE id = ?'),
      leaseKeys: db.prepare<[string], { key: string }>('SELECT key FROM kv WHERE lease = ? ORDER BY key'),
      leaseInsert: db.prepare('INSERT INTO lease (ttl, expires_at) VALUES (?, ?)'),
      leaseTouch: db.prepare('UPDATE lease SET expires_at = ? WHERE id = ?'),
      leaseDelete: db.prepare('DELETE FROM lease WHERE id = ?'),
      leaseExpired: db.prepare<[number], { id: number }>('SELECT id FROM lease WHERE expires_at <= ?'),
      leaseGrace: db.prepare('UPDATE lease SET expires_at = ? + CAST(ttl * 1000 AS INTEGER)'),
    };
    this.rev = this.s.meta.get('revision')!.value;
    this.compactRev = this.s.meta.get('compact_revision')!.value;
    this.s.leaseGrace.run(Date.now());
    this.reader = {
      get: (key) => {
        const row = this.s.get.get(key);
        return row === undefined ? undefined : toKv(row);
      },
      keysWithPrefix: (prefix) => this.rangeRows(prefix).map((r) => r.key),
      leaseExists: (id) => this.s.leaseGet.get(id) !== undefined,
    };
    this.hub = new WatchHub({
      currentRevision: () => this.rev,
      compactRevision: () => this.compactRev,
      history: (prefix, from) => this.history(prefix, from),
    });
    this.leaseTimer = setInterval(() => this.expireLeases(), options.leaseCheckMs ?? 200);
    this.leaseTimer.unref();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.assertOpen();
    return this.reader.get(key);
  }

  async range(prefix: string): Promise<RangeResult> {
    this.assertOpen();
    return { kvs: this.rangeRows(prefix).map(toKv), revision: this.rev };
  }

  /** `range` without values (no value strings built: cheaper for callers that cache them). */
  async rangeKeys(prefix: string): Promise<RangeResult> {
    this.assertOpen();
    const end = prefixEnd(prefix);
    if (prefix === '' || end === '') return this.range(prefix);
    return { kvs: this.s.rangeKeys.all(prefix, end).map(toKv), revision: this.rev };
  }

  private rangeRows(prefix: string): KvRow[] {
    if (prefix === '') return this.s.rangeAll.all();
    const end = prefixEnd(prefix);
    return end === '' ? this.s.rangeFrom.all(prefix) : this.s.range.all(prefix, end);
  }

  txn(req: TxnRequest): Promise<TxnResult> {
    if (this.closed) return Promise.reject(new StoreClosedError('store is closed'));
    return this.enqueue(() => req);
  }

  private enqueue(req: () => TxnRequest): Promise<TxnResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commit every queued transaction in one SQLite transaction, then acknowledge and notify. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    if (this.closed) {
      for (const p of batch) p.reject(new StoreClosedError('store is closed'));
      return;
    }
    const startRev = this.rev;
    const outcomes: Array<{ plan: TxnPlan; revision: number } | { error: unknown }> = [];
    try {
      this.db.transaction(() => {
        for (const p of batch) {
          let plan: TxnPlan;
          try {
            plan = planTxn(this.reader, p.req(), this.rev + 1);
          } catch (error) {
            outcomes.push({ error });
            continue;
          }
          if (plan.changes.length > 0) this.write(plan, ++this.rev);
          outcomes.push({ plan, revision: this.rev });
        }
        if (this.rev !== startRev) {
          this.s.setMeta.run(this.rev, 'revision');
          this.autoCompact();
        }
      })();
    } catch (error) {
      this.rev = startRev;
      for (const p of batch) p.reject(error);
      return;
    }
    const acknowledge = (syncError?: Error): void => {
      batch.forEach((p, i) => {
        const o = outcomes[i];
        if ('error' in o) p.reject(o.error);
        else {
          // Published even if the fsync failed: the change is in the database, watchers must not skip it.
          if (o.plan.changes.length > 0) {
            this.hub.publish(o.revision, o.plan.events, new Map(o.plan.changes.map((c) => [c.key, c.previous?.value])));
          }
          if (syncError) p.reject(new StoreUnavailableError('sqlite: fsync of the WAL failed', { cause: syncError }));
          else p.resolve({ succeeded: o.plan.succeeded, revision: o.revision });
        }
      });
    };
    // Nothing written and nothing waiting for durability: answer at once.
    if (this.rev === startRev && !this.syncing && this.syncWaiters.length === 0) acknowledge();
    else if (this.walPath === undefined) acknowledge();
    else this.afterSync(acknowledge);
  }

  /** Run `done` once everything committed so far is fsynced (group fsync on the thread pool). */
  private afterSync(done: (err?: Error) => void): void {
    this.syncWaiters.push(done);
    if (!this.syncing) this.startSync();
  }

  private startSync(): void {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    this.syncing = true;
    let fd: number;
    try {
      fd = this.walFd ??= openSync(this.walPath!, 'r');
    } catch (err) {
      this.syncDone(waiters, err as Error);
      return;
    }
    fsync(fd, (err) => this.syncDone(waiters, err ?? undefined));
  }

  private syncDone(waiters: ReadonlyArray<(err?: Error) => void>, err: Error | undefined): void {
    this.syncing = false;
    for (const w of waiters) w(err);
    if (this.syncWaiters.length > 0) this.startSync();
    else this.syncIdle?.();
  }

  private write(plan: TxnPlan, revision: number): void {
    for (const c of plan.changes) {
      if (c.kv === undefined) {
        this.s.del.run(c.key);
        this.s.logPut.run(revision, c.key, 1, null);
      } else {
        const kv = c.kv;
        this.s.put.run(kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease ?? null);
        this.s.logPut.run(revision, c.key, 0, kv.value);
      }
    }
  }

  private autoCompact(): void {
    const keepFrom = this.rev - this.historyRevisions + 1;
    if (keepFrom > this.compactRev + Math.max(1, Math.floor(this.historyRevisions / 10))) this.compactTo(keepFrom);
  }

  private compactTo(revision: number): void {
    this.s.logTrim.run(revision);
    this.s.setMeta.run(revision, 'compact_revision');
    this.compactRev = revision;
  }

  private history(prefix: string, from: number): Array<[number, WatchEvent[]]> {
    const out: Array<[number, WatchEvent[]]> = [];
    let current: [number, WatchEvent[]] | undefined;
    for (const row of this.s.logFrom.iterate(from)) {
      if (!row.key.startsWith(prefix)) continue;
      if (current === undefined || current[0] !== row.revision) {
        current = [row.revision, []];
        out.push(current);
      }
      current[1].push(
        row.type === 0
          ? { type: 'put', key: row.key, value: row.value ?? '', revision: row.revision }
          : { type: 'delete', key: row.key, revision: row.revision },
      );
    }
    return out;
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    this.assertOpen();
    return this.hub.watch(prefix, fromRevision, handlers);
  }

  async revision(): Promise<number> {
    this.assertOpen();
    return this.rev;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (revision > this.rev) throw new InvalidStoreRequestError(`cannot compact future revision ${revision}`);
    if (revision <= this.compactRev) return;
    this.db.transaction(() => this.compactTo(revision))();
  }

  grantLease(ttlSeconds: number): Promise<Lease> {
    return this.kept.grant(ttlSeconds);
  }

  async grant(ttlSeconds: number): Promise<LeaseInfo> {
    this.assertOpen();
    if (!(ttlSeconds > 0)) throw new InvalidStoreRequestError('lease TTL must be positive');
    const r = this.s.leaseInsert.run(ttlSeconds, Date.now() + ttlSeconds * 1000);
    if (this.walPath !== undefined) await new Promise<void>((resolve) => this.afterSync(() => resolve()));
    return { id: String(r.lastInsertRowid), ttlSeconds };
  }

  async keepAlive(id: string): Promise<LeaseInfo> {
    this.assertOpen();
    const row = this.s.leaseGet.get(id);
    if (row === undefined || row.expires_at <= Date.now()) throw new LeaseNotFoundError(id);
    this.s.leaseTouch.run(Date.now() + row.ttl * 1000, id);
    return { id, ttlSeconds: row.ttl };
  }

  async revoke(id: string): Promise<void> {
    this.assertOpen();
    if (this.s.leaseGet.get(id) === undefined) throw new LeaseNotFoundError(id);
    await this.dropLease(id);
  }

  private expireLeases(): void {
    if (this.closed) return;
    for (const { id } of this.s.leaseExpired.all(Date.now())) void this.dropLease(String(id)).catch(() => {});
  }

  /** Delete a lease and, in one revision, every key attached to it (through the txn queue). */
  private async dropLease(id: string): Promise<void> {
    await this.enqueue(() => {
      this.s.leaseDelete.run(id);
      const keys = this.s.leaseKeys.all(id).map((r) => r.key);
      return { compare: [], success: keys.map((key) => ({ type: 'delete' as const, key })) };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.kept.stopAll();
    clearInterval(this.leaseTimer);
    this.flush();
    this.closed = true;
    if (this.syncing || this.syncWaiters.length > 0) await new Promise<void>((r) => (this.syncIdle = r));
    this.hub.closeAll();
    if (this.walFd !== undefined) {
      fsyncSync(this.walFd);
      closeSync(this.walFd);
    }
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError('store is closed');
  }
}
