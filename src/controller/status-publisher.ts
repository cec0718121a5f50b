/**
 * Publishes the controller's status record (`/status/chassis/<name>`, model/status.ts) for
 * `wyvern status`. Cheap by design: it looks at the controller every `intervalMs` (a probe:
 * a few numbers) and writes only when something an operator cares about changed — ports,
 * flows, groups, connections, role — or when the switch has stayed behind the store for
 * BEHIND_AFTER_MS (and again when it caught up). Revisions alone are refreshed at most every
 * REFRESH_MS. Nobody watches `/status/`, so a write costs one transaction and no controller work.
 */
import os from 'node:os';
import type { Store } from '../store/types.js';
import { chassisStatusKey, type ChassisStatusRecord } from '../model/status.js';
import type { ControllerProbe } from './probe.js';

/** The switch counts as behind once it has not caught up for this long. */
export const BEHIND_AFTER_MS = 5_000;
/** Revisions alone are republished at most this often. */
export const REFRESH_MS = 60_000;

export interface StatusPublisherOptions {
  readonly store: Store;
  readonly probe: () => ControllerProbe;
  readonly intervalMs: number;
  readonly leaseTtlSeconds: number;
  readonly metricsUrl?: string;
  readonly log: (line: string) => void;
}

export class StatusPublisher {
  private timer: NodeJS.Timeout | undefined;
  private behindSince: number | undefined;
  private lastMaterial = '';
  private lastRevisions = '';
  private lastWrite = 0;
  private writing = false;
  private readonly startedAt = new Date().toISOString();

  constructor(private readonly o: StatusPublisherOptions) {}

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Look at the controller; publish if something changed. Never throws. */
  async tick(now = Date.now()): Promise<void> {
    if (this.writing) return;
    const p = this.o.probe();
    if (p.seenRevision > p.appliedRevision) this.behindSince ??= now;
    else this.behindSince = undefined;
    const behind = this.behindSince !== undefined && now - this.behindSince >= BEHIND_AFTER_MS ? new Date(this.behindSince).toISOString() : null;
    const record: ChassisStatusRecord = {
      name: p.chassis,
      version: p.version,
      hostname: os.hostname(),
      gateway: p.gateway,
      l3_mode: p.l3Mode,
      lease_ttl_seconds: this.o.leaseTtlSeconds,
      applied_revision: p.appliedRevision,
      seen_revision: p.seenRevision,
      behind_since: behind,
      local_ports: p.stats.localPorts,
      installed_flows: p.installed?.flows.size ?? 0,
      groups: p.installed?.groups.size ?? 0,
      openflow: p.openflow,
      ovsdb: p.ovsdb,
      metrics_url: this.o.metricsUrl ?? null,
      started_at: this.startedAt,
      updated_at: new Date(now).toISOString(),
    };
    const { applied_revision, seen_revision, updated_at, ...material } = record;
    void updated_at;
    const materialText = JSON.stringify(material);
    const revisions = `${applied_revision}/${seen_revision}`;
    const changed = materialText !== this.lastMaterial;
    const refresh = revisions !== this.lastRevisions && now - this.lastWrite >= REFRESH_MS;
    if (!changed && !refresh) return;
    this.writing = true;
    try {
      await this.o.store.txn({ compare: [], success: [{ type: 'put', key: chassisStatusKey(p.chassis), value: JSON.stringify(record) }] });
      this.lastMaterial = materialText;
      this.lastRevisions = revisions;
      this.lastWrite = now;
    } catch (err) {
      this.o.log(`status record: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.writing = false;
    }
  }
}
