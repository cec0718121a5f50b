import type Database from 'better-sqlite3';

/**
 * SQLite layout of the store:
 * - `meta`: the current revision and the compaction point;
 * - `kv`: the live keys with etcd's per-key revisions and the lease they hang on;
 * - `log`: every change per revision (type 0 put, 1 delete), replayed to watches;
 * - `lease`: leases with their TTL and absolute expiry (ms since the epoch).
 */
export function migrate(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 1), ('compact_revision', 1);
    CREATE TABLE IF NOT EXISTS kv (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      create_rev INTEGER NOT NULL,
      mod_rev INTEGER NOT NULL,
      version INTEGER NOT NULL,
      lease TEXT
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS kv_by_lease ON kv (lease) WHERE lease IS NOT NULL;
    CREATE TABLE IF NOT EXISTS log (
      revision INTEGER NOT NULL,
      key TEXT NOT NULL,
      type INTEGER NOT NULL,
      value TEXT,
      PRIMARY KEY (revision, key)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS lease (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      ttl REAL NOT NULL,
      expires_at INTEGER NOT NULL
    );
  `);
}
