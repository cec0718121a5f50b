/**
 * An in-memory replica of monitored OVSDB tables, kept current by monitor updates (RFC 7047
 * `update`, and update2/update3 from monitor_cond / monitor_cond_since).
 *
 * The application of updates is pure bookkeeping on wire-form rows (`applyMonitorEvent` returns
 * the row changes); rows are decoded into plain TS values with the schema (see datum.ts). After
 * a reconnect that brings a full initial state, the replica is rebuilt from it and listeners get
 * only the difference against what they had (insert/modify/delete), never a flush.
 *
 * Events: 'change' (c: RowChange) per row, then 'batch' (cs: RowChange[]) once per update.
 */
import { EventEmitter } from 'node:events';
import type { OvsdbClient, MonitorEvent, MonitorHandle, MonitorMethod } from './client.js';
import {
  applyDatumDiff,
  decodeDatum,
  defaultWireDatum,
  wireDatumEqual,
  type DatabaseSchema,
  type DecodedDatum,
  type TableSchema,
} from './datum.js';
import { OvsdbDatumError } from './errors.js';

export type WireRow = Record<string, unknown>;
export interface DecodedRow {
  readonly _uuid: string;
  readonly [column: string]: DecodedDatum;
}

export interface RowChange<R = DecodedRow> {
  readonly type: 'insert' | 'modify' | 'delete';
  readonly table: string;
  readonly uuid: string;
  /** The row before the change (modify, delete). */
  readonly old?: R;
  /** The row after the change (insert, modify). */
  readonly new?: R;
}

/** Typed rows of the Open_vSwitch database tables Wyvern uses (decoded; see datum.ts for the rules). */
export interface OpenVSwitchRow extends DecodedRow {
  readonly bridges: string[];
  readonly cur_cfg: number;
  readonly next_cfg: number;
  readonly external_ids: Record<string, string>;
  readonly other_config: Record<string, string>;
  readonly ovs_version: string | undefined;
  readonly datapath_types: string[];
  readonly iface_types: string[];
}
export interface BridgeRow extends DecodedRow {
  readonly name: string;
  readonly ports: string[];
  readonly controller: string[];
  readonly fail_mode: string | undefined;
  readonly protocols: string[];
  readonly datapath_type: string;
  readonly datapath_id: string | undefined;
  readonly other_config: Record<string, string>;
  readonly external_ids: Record<string, string>;
}
export interface PortRow extends DecodedRow {
  readonly name: string;
  readonly interfaces: string[];
  readonly tag: number | undefined;
  readonly other_config: Record<string, string>;
  readonly external_ids: Record<string, string>;
}
export interface InterfaceRow extends DecodedRow {
  readonly name: string;
  readonly type: string;
  readonly options: Record<string, string>;
  readonly external_ids: Record<string, string>;
  readonly other_config: Record<string, string>;
  /** Assigned by ovs-vswitchd, asynchronously; -1 when it failed to add the interface. */
  readonly ofport: number | undefined;
  readonly ofport_request: number | undefined;
  readonly mac_in_use: string | undefined;
  readonly error: string | undefined;
  readonly admin_state: string | undefined;
  readonly link_state: string | undefined;
}
export interface ControllerRow extends DecodedRow {
  readonly target: string;
  readonly is_connected: boolean;
  readonly role: string | undefined;
  readonly connection_mode: string | undefined;
  readonly other_config: Record<string, string>;
  readonly external_ids: Record<string, string>;
}

export interface VswitchTables {
  Open_vSwitch: OpenVSwitchRow;
  Bridge: BridgeRow;
  Port: PortRow;
  Interface: InterfaceRow;
  Controller: ControllerRow;
}

/** The tables of a replica: table name → requested columns (undefined: all of the schema's). */
export type ReplicaTables = Record<string, readonly string[] | undefined>;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface TableState {
  schema: TableSchema;
  columns: string[];
  rows: Map<string, { wire: WireRow; decoded: DecodedRow }>;
}

/** Pure replica state: apply monitor events, get row changes back. No I/O. */
export class ReplicaState {
  readonly schema: DatabaseSchema;
  private tables = new Map<string, TableState>();

  constructor(schema: DatabaseSchema, tables: ReplicaTables) {
    this.schema = schema;
    for (const [t, cols] of Object.entries(tables)) {
      const ts = schema.tables[t];
      if (!ts) throw new OvsdbDatumError(`table ${t} is not in schema ${schema.name}`);
      const columns = cols ? cols.filter((c) => c in ts.columns) : Object.keys(ts.columns);
      this.tables.set(t, { schema: ts, columns, rows: new Map() });
    }
  }

  get tableNames(): string[] {
    return [...this.tables.keys()];
  }

  columnsOf(table: string): string[] {
    return this.tables.get(table)?.columns ?? [];
  }

  rows(table: string): DecodedRow[] {
    return [...(this.tables.get(table)?.rows.values() ?? [])].map((r) => r.decoded);
  }

  get(table: string, uuid: string): DecodedRow | undefined {
    return this.tables.get(table)?.rows.get(uuid)?.decoded;
  }

  /** Wire-form rows (all monitored columns), for comparisons with the database. */
  wireRows(table: string): Map<string, WireRow> {
    return new Map([...(this.tables.get(table)?.rows ?? [])].map(([u, r]) => [u, r.wire]));
  }

  /** Apply one monitor event; returns the row changes it made, in order. Throws OvsdbDatumError on malformed input. */
  apply(ev: MonitorEvent): RowChange[] {
    if (!isObj(ev.updates)) throw new OvsdbDatumError('table-updates is not an object');
    if (ev.kind === 'initial' && ev.full) return this.replaceAll(ev.format, ev.updates);
    return this.applyUpdates(ev.format, ev.updates);
  }

  private decode(t: TableState, uuid: string, wire: WireRow): DecodedRow {
    const out: Record<string, DecodedDatum> = { _uuid: uuid };
    for (const c of t.columns) out[c] = decodeDatum(wire[c], t.schema.columns[c].type);
    return out as DecodedRow;
  }

  /** A full row: defaults, overlaid with the given columns. */
  private fullRow(t: TableState, cols: Record<string, unknown>, base?: WireRow): WireRow {
    const row: WireRow = {};
    for (const c of t.columns) row[c] = c in cols ? cols[c] : base ? base[c] : defaultWireDatum(t.schema.columns[c].type);
    return row;
  }

  private applyUpdates(format: 1 | 2, updates: Record<string, unknown>): RowChange[] {
    const changes: RowChange[] = [];
    for (const [table, tu] of Object.entries(updates)) {
      const t = this.tables.get(table);
      if (!t) continue;
      if (!isObj(tu)) throw new OvsdbDatumError(`table-update for ${table} is not an object`);
      for (const [uuid, ru] of Object.entries(tu)) {
        if (!isObj(ru)) throw new OvsdbDatumError(`row-update for ${table} ${uuid} is not an object`);
        const c = format === 1 ? this.applyRow1(t, table, uuid, ru) : this.applyRow2(t, table, uuid, ru);
        if (c) changes.push(c);
      }
    }
    return changes;
  }

  private put(t: TableState, table: string, uuid: string, wire: WireRow): RowChange | undefined {
    const prev = t.rows.get(uuid);
    const decoded = this.decode(t, uuid, wire);
    t.rows.set(uuid, { wire, decoded });
    if (!prev) return { type: 'insert', table, uuid, new: decoded };
    if (this.sameRow(t, prev.wire, wire)) return undefined;
    return { type: 'modify', table, uuid, old: prev.decoded, new: decoded };
  }

  private remove(t: TableState, table: string, uuid: string): RowChange | undefined {
    const prev = t.rows.get(uuid);
    if (!prev) return undefined;
    t.rows.delete(uuid);
    return { type: 'delete', table, uuid, old: prev.decoded };
  }

  private sameRow(t: TableState, a: WireRow, b: WireRow): boolean {
    return t.columns.every((c) => wireDatumEqual(a[c], b[c], t.schema.columns[c].type));
  }

  /** RFC 7047 §4.1.6 row-update: {old?, new?}; `new` holds every monitored column. */
  private applyRow1(t: TableState, table: string, uuid: string, ru: Record<string, unknown>): RowChange | undefined {
    if (ru.new === undefined) return this.remove(t, table, uuid);
    if (!isObj(ru.new)) throw new OvsdbDatumError(`row-update new for ${table} ${uuid} is not an object`);
    return this.put(t, table, uuid, this.fullRow(t, ru.new, t.rows.get(uuid)?.wire));
  }

  /** update2 row-update: {initial|insert: row} | {modify: diff} | {delete: null}. */
  private applyRow2(t: TableState, table: string, uuid: string, ru: Record<string, unknown>): RowChange | undefined {
    if ('delete' in ru) return this.remove(t, table, uuid);
    const ins = ru.initial ?? ru.insert;
    if (ins !== undefined) {
      if (!isObj(ins)) throw new OvsdbDatumError(`insert row for ${table} ${uuid} is not an object`);
      return this.put(t, table, uuid, this.fullRow(t, ins));
    }
    if (isObj(ru.modify)) {
      const prev = t.rows.get(uuid);
      if (!prev) throw new OvsdbDatumError(`modify of unknown row ${table} ${uuid}`);
      const wire: WireRow = { ...prev.wire };
      for (const [c, diff] of Object.entries(ru.modify)) {
        if (!t.columns.includes(c)) continue;
        wire[c] = applyDatumDiff(prev.wire[c], diff, t.schema.columns[c].type);
      }
      return this.put(t, table, uuid, wire);
    }
    throw new OvsdbDatumError(`bad row-update for ${table} ${uuid}`);
  }

  /** Rebuild every table from a full initial state; return the difference from before. */
  private replaceAll(format: 1 | 2, updates: Record<string, unknown>): RowChange[] {
    const before = new Map([...this.tables].map(([n, t]) => [n, t.rows]));
    for (const t of this.tables.values()) t.rows = new Map();
    try {
      this.applyUpdates(format, updates);
    } catch (err) {
      for (const [n, rows] of before) this.tables.get(n)!.rows = rows;
      throw err;
    }
    const changes: RowChange[] = [];
    for (const [table, t] of this.tables) {
      const old = before.get(table)!;
      for (const [uuid, r] of t.rows) {
        const o = old.get(uuid);
        if (!o) changes.push({ type: 'insert', table, uuid, new: r.decoded });
        else if (!this.sameRow(t, o.wire, r.wire)) changes.push({ type: 'modify', table, uuid, old: o.decoded, new: r.decoded });
      }
      for (const [uuid, o] of old) if (!t.rows.has(uuid)) changes.push({ type: 'delete', table, uuid, old: o.decoded });
    }
    return changes;
  }
}

/** A live replica: a ReplicaState fed by a client monitor, emitting 'change' and 'batch'. */
export class OvsdbReplica<T extends object = Record<string, DecodedRow>> extends EventEmitter {
  readonly state: ReplicaState;
  private handle: MonitorHandle | undefined;

  private constructor(state: ReplicaState) {
    super();
    this.state = state;
  }

  /** Fetch the schema, start a monitor of `tables` and wait for the initial state. */
  static async start<T extends object = Record<string, DecodedRow>>(
    client: OvsdbClient,
    db: string,
    tables: ReplicaTables,
    opts: { method?: MonitorMethod } = {},
  ): Promise<OvsdbReplica<T>> {
    const schema = await client.getSchema(db);
    const r = new OvsdbReplica<T>(new ReplicaState(schema, tables));
    const requests: Record<string, { columns: string[] }> = {};
    for (const t of r.state.tableNames) requests[t] = { columns: r.state.columnsOf(t) };
    r.handle = await client.monitor(db, requests, (ev) => r.onEvent(ev), opts);
    return r;
  }

  get monitor(): MonitorHandle | undefined {
    return this.handle;
  }

  rows<K extends keyof T & string>(table: K): T[K][] {
    return this.state.rows(table) as T[K][];
  }

  get<K extends keyof T & string>(table: K, uuid: string): T[K] | undefined {
    return this.state.get(table, uuid) as T[K] | undefined;
  }

  /** First row of `table` whose `column` equals `value` (e.g. by name). */
  find<K extends keyof T & string>(table: K, column: string, value: unknown): T[K] | undefined {
    return this.rows(table).find((r) => (r as Record<string, unknown>)[column] === value);
  }

  async stop(): Promise<void> {
    await this.handle?.cancel();
  }

  private onEvent(ev: MonitorEvent): void {
    const changes = this.state.apply(ev);
    for (const c of changes) this.emit('change', c);
    if (changes.length > 0 || ev.kind === 'initial') this.emit('batch', changes);
  }
}
