/**
 * Quotas (the `quotas` and `quota_details` extensions): per-project limits on how many of each
 * resource a project may create, enforced in the create transaction.
 *
 * Limits: the project's overrides (`/nb/quotas/<project>`, set by an admin with PUT), else the
 * server's `quotaDefaults` (config; -1 = unlimited, the default for every resource, so a cloud
 * that sets no quota pays nothing for them). A create of a resource with a finite limit counts
 * the project's records of that collection and reads and writes a per-project guard key
 * (`/guard/quota/<resource>/<project>`), so concurrent creates in one project cannot overshoot:
 * one of them re-runs and counts the other.
 *
 * API: `GET /v2.0/quotas` (admin: projects with overrides), `GET|PUT|DELETE
 * /v2.0/quotas/<project>` (show: admin or the project itself; set and reset: admin),
 * `GET /v2.0/quotas/<project>/default`, `GET /v2.0/quotas/<project>/details` (used, limit,
 * reserved 0).
 */
import { collectionPrefix, GUARD_PREFIX, resourceKey } from '../model/keys.js';
import type { StandardRecord } from '../model/records.js';
import type { RequestContext } from './context.js';
import { BadRequest, Conflict, HttpNotFound, invalidAttribute, MethodNotAllowed, PolicyNotAuthorized } from './errors.js';
import { runTx, Tx } from './tx.js';
import type { Store } from '../store/types.js';
import { QUOTA_RESOURCES } from './quota-resources.js';

export { QUOTA_RESOURCES };


export type QuotaLimits = Readonly<Record<string, number>>;

export const UNLIMITED_QUOTAS: QuotaLimits = Object.fromEntries(Object.keys(QUOTA_RESOURCES).map((k) => [k, -1]));

const QUOTAS_PREFIX = collectionPrefix('quotas');

export class OverQuota extends Conflict {
  constructor(resources: readonly string[]) {
    super('OverQuota', `Quota exceeded for resources: [${resources.map((r) => `'${r}'`).join(', ')}].`);
  }
}

/** `/nb/quotas/<project>`: the project's overrides (creates read it: prefetch it with the rest). */
export function quotaKey(projectId: string): string {
  return resourceKey('quotas', encodeURIComponent(projectId));
}

function quotaGuardKey(resource: string, projectId: string): string {
  return `${GUARD_PREFIX}quota/${resource}/${encodeURIComponent(projectId)}`;
}

interface QuotaRecord {
  readonly project_id: string;
  readonly limits: Readonly<Record<string, number>>;
}

export class Quotas {
  /** Collection → quota resource name. */
  private readonly byCollection = new Map(Object.entries(QUOTA_RESOURCES).map(([r, c]) => [c, r]));

  constructor(
    private readonly store: Store,
    private readonly defaults: QuotaLimits,
  ) {}

  private async overrides(tx: Tx, projectId: string, guard: boolean): Promise<Readonly<Record<string, number>>> {
    const key = quotaKey(projectId);
    const kv = guard ? await tx.get(key) : await tx.peek(key);
    return kv ? (JSON.parse(kv.value) as QuotaRecord).limits : {};
  }

  private async limits(tx: Tx, projectId: string, guard = false): Promise<Record<string, number>> {
    return { ...UNLIMITED_QUOTAS, ...this.defaults, ...(await this.overrides(tx, projectId, guard)) };
  }

  /**
   * In a create transaction: refuse (OverQuota) if `projectId` already has its limit of
   * `collection` records. Records this transaction creates count (read-your-writes).
   */
  async check(tx: Tx, collection: string, projectId: string): Promise<void> {
    const resource = this.byCollection.get(collection);
    if (resource === undefined) return;
    const limit = (await this.limits(tx, projectId, true))[resource];
    if (limit === undefined || limit < 0) return;
    const guard = quotaGuardKey(resource, projectId);
    await tx.get(guard);
    tx.put(guard, collection);
    const used = await this.count(tx, collection, projectId);
    if (used + 1 > limit) throw new OverQuota([resource]);
  }

  /**
   * After a create that also made records of `collection` (a security group's default rules):
   * refuse (OverQuota) if the project now holds more than its limit of them.
   */
  async ensureWithin(tx: Tx, collection: string, projectId: string): Promise<void> {
    const resource = this.byCollection.get(collection);
    if (resource === undefined) return;
    const limit = (await this.limits(tx, projectId, true))[resource];
    if (limit === undefined || limit < 0) return;
    const guard = quotaGuardKey(resource, projectId);
    await tx.get(guard);
    tx.put(guard, collection);
    if ((await this.count(tx, collection, projectId)) > limit) throw new OverQuota([resource]);
  }

  private async count(tx: Tx, collection: string, projectId: string): Promise<number> {
    const recs = await tx.rangeJson<StandardRecord>(collectionPrefix(collection));
    return recs.filter((r) => r.project_id === projectId).length;
  }

  /** `/v2.0/quotas[/...]`. */
  async route(method: string, parts: readonly string[], ctx: RequestContext, body: () => Promise<unknown>): Promise<{ status: number; body?: unknown }> {
    const [, , project, sub] = parts;
    if (parts.length > 4) throw new HttpNotFound(parts.join('/'));
    if (project === undefined) {
      if (method !== 'GET') throw new MethodNotAllowed();
      if (!ctx.isAdmin) throw new PolicyNotAuthorized('get_quota');
      const tx = new Tx(this.store);
      const quotas = [];
      for (const kv of await tx.range(QUOTAS_PREFIX)) {
        const rec = JSON.parse(kv.value) as QuotaRecord;
        quotas.push({ ...(await this.limits(tx, rec.project_id)), project_id: rec.project_id, tenant_id: rec.project_id });
      }
      return { status: 200, body: { quotas } };
    }
    if (!ctx.isAdmin && project !== ctx.projectId) throw new PolicyNotAuthorized('get_quota');
    const tx = new Tx(this.store);
    if (sub === 'default' || sub === 'details') {
      if (method !== 'GET') throw new MethodNotAllowed();
      if (sub === 'default') return { status: 200, body: { quota: { ...UNLIMITED_QUOTAS, ...this.defaults } } };
      const limits = await this.limits(tx, project);
      const quota: Record<string, unknown> = {};
      for (const [r, c] of Object.entries(QUOTA_RESOURCES)) quota[r] = { used: await this.count(tx, c, project), limit: limits[r], reserved: 0 };
      return { status: 200, body: { quota } };
    }
    if (sub !== undefined) throw new HttpNotFound(parts.join('/'));
    if (method === 'GET') return { status: 200, body: { quota: await this.limits(tx, project) } };
    if (!ctx.isAdmin) throw new PolicyNotAuthorized(method === 'PUT' ? 'update_quota' : 'delete_quota');
    const key = quotaKey(project);
    if (method === 'DELETE') {
      await runTx(this.store, async (t) => {
        t.delete(key);
      });
      return { status: 204 };
    }
    if (method !== 'PUT') throw new MethodNotAllowed();
    const wanted = parseQuotaBody(await body());
    const out = await runTx(this.store, async (t) => {
      const limits = { ...(await this.overrides(t, project, true)), ...wanted };
      t.put(key, JSON.stringify({ project_id: project, limits } satisfies QuotaRecord));
      return { ...UNLIMITED_QUOTAS, ...this.defaults, ...limits };
    });
    return { status: 200, body: { quota: out } };
  }
}

function parseQuotaBody(body: unknown): Record<string, number> {
  const q = (body as { quota?: unknown } | null)?.quota;
  if (typeof q !== 'object' || q === null || Array.isArray(q)) throw new BadRequest("Unable to find 'quota' in request body");
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(q)) {
    if (!(k in QUOTA_RESOURCES)) throw new BadRequest(`Unrecognized attribute(s) '${k}'`);
    const n = typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < -1 || n > 2 ** 31 - 1) throw invalidAttribute(k, `'${String(v)}' is not an integer >= -1`);
    out[k] = n;
  }
  return out;
}
