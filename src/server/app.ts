/**
 * The Neutron v2.0 HTTP API on node:http. Routing, body parsing, the attribute layer, policy on
 * attributes and ownership, transactions, tags, list queries and fault mapping live here; the
 * semantics of each resource live in its plugin (registry.ts).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyValue, Store } from '../store/types.js';
import type { StandardRecord } from '../model/records.js';
import { resourceKey } from '../model/keys.js';
import { makeAuthenticator, type Authenticator } from './auth.js';
import { makeConfig, type ServerConfig } from './config.js';
import type { RequestContext } from './context.js';
import {
  BadRequest,
  faultBody,
  HttpNotFound,
  InternalError,
  invalidAttribute,
  MalformedBody,
  MethodNotAllowed,
  NeutronFault,
  PolicyNotAuthorized,
  RequestEntityTooLarge,
  RevisionNumberConstraintFailed,
  TagNotFound,
} from './errors.js';
import { applyFilters, paginate, parseSort, selectFields, sortObjects, type Page } from './query.js';
import { emptyHooks, Registry, type ApiObject, type Input, type PluginFactory, type ResourcePlugin, type ServerEnv, type ServerHooks } from './registry.js';
import { CORE_EXTENSIONS, CORE_PLUGINS } from './resources/index.js';
import { Quotas } from './quotas.js';
import { runTx, Tx } from './tx.js';

/** A handler tried before the API (e.g. the store's HTTP service); true if it answered. */
export type PreHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface ApiOptions {
  readonly config?: Partial<ServerConfig>;
  /** Resource plugins; default CORE_PLUGINS. Extra plugins can also be registered later. */
  readonly plugins?: readonly PluginFactory[];
  readonly preHandlers?: readonly PreHandler[];
  readonly authenticator?: Authenticator;
  /** Called for unexpected (non-fault) errors; default writes to stderr. */
  readonly onError?: (err: unknown) => void;
  /** Called once per API request answered (not for pre-handlers): metrics, request logs. */
  readonly onResponse?: (info: ResponseInfo) => void;
}

/** One answered API request, as `ApiOptions.onResponse` sees it. */
export interface ResponseInfo {
  readonly req: IncomingMessage;
  readonly status: number;
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  readonly requestId: string;
}

export class NeutronApi {
  readonly config: ServerConfig;
  readonly registry = new Registry();
  readonly hooks: ServerHooks = emptyHooks();
  readonly env: ServerEnv;
  readonly quotas: Quotas;
  private readonly auth: Authenticator;
  private readonly preHandlers: PreHandler[];
  private readonly onError: (err: unknown) => void;
  private readonly onResponse: ((info: ResponseInfo) => void) | undefined;

  constructor(
    readonly store: Store,
    opts: ApiOptions = {},
  ) {
    this.config = makeConfig(opts.config);
    this.env = { config: this.config, store, hooks: this.hooks, registry: this.registry };
    this.quotas = new Quotas(store, this.config.quotaDefaults);
    for (const e of CORE_EXTENSIONS) this.registry.addExtension(e);
    for (const f of opts.plugins ?? CORE_PLUGINS) this.registry.register(f(this.env));
    this.auth = opts.authenticator ?? makeAuthenticator(this.config);
    this.preHandlers = [...(opts.preHandlers ?? [])];
    this.onError = opts.onError ?? ((err) => process.stderr.write(`wyvern server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`));
    this.onResponse = opts.onResponse;
  }

  addPlugin(f: PluginFactory): void {
    this.registry.register(f(this.env));
  }

  addPreHandler(h: PreHandler): void {
    this.preHandlers.push(h);
  }

  /** The node:http request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    void this.dispatch(req, res);
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = `req-${randomUUID()}`;
    const startedAt = performance.now();
    try {
      for (const h of this.preHandlers) if (await h(req, res)) return;
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
      const result = await this.route(req, url);
      send(res, result.status, result.body, requestId);
    } catch (err) {
      const fault = err instanceof NeutronFault ? err : new InternalError();
      if (!(err instanceof NeutronFault)) this.onError(err);
      if (fault instanceof RequestEntityTooLarge) res.setHeader('Connection', 'close');
      if (!res.headersSent) send(res, fault.status, faultBody(fault), requestId);
      else res.end();
    }
    this.onResponse?.({ req, status: res.statusCode, startedAt, requestId });
  }

  private async route(req: IncomingMessage, url: URL): Promise<{ status: number; body?: unknown }> {
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '').replace(/\.json$/, '');
    const base = `http://${req.headers.host ?? 'localhost'}`;
    if (path === '') {
      if (method !== 'GET') throw new MethodNotAllowed();
      return { status: 200, body: this.versions(base) };
    }
    const parts = path.split('/').slice(1).map(decodeURIComponent);
    if (parts[0] !== 'v2.0') throw new HttpNotFound(url.pathname);
    if (parts.length === 1) {
      if (method !== 'GET') throw new MethodNotAllowed();
      return { status: 200, body: this.resourcesDoc(base) };
    }
    if (parts[1] === 'extensions') return this.extensionsRoute(method, parts);
    if (parts[1] === 'quotas') {
      const qctx = await this.auth.authenticate(req.headers);
      return this.quotas.route(method, parts, qctx, () => readBody(req, this.config.maxBodyBytes));
    }
    const plugin = this.registry.get(parts[1]);
    if (!plugin) throw new HttpNotFound(url.pathname);
    const ctx = await this.auth.authenticate(req.headers);
    const [, , id, sub, tag] = parts;
    const ro = plugin.readOnly;
    if ((method === 'POST' && ro?.create) || (method === 'PUT' && sub === undefined && ro?.update) || (method === 'DELETE' && sub === undefined && ro?.delete)) {
      throw new MethodNotAllowed();
    }
    if (id === undefined) {
      if (method === 'GET') return { status: 200, body: await this.list(plugin, ctx, url) };
      if (method === 'POST') return { status: 201, body: await this.create(plugin, ctx, await readBody(req, this.config.maxBodyBytes)) };
      throw new MethodNotAllowed();
    }
    if (sub === undefined) {
      if (method === 'GET') return { status: 200, body: await this.show(plugin, ctx, id, url.searchParams.getAll('fields')) };
      if (method === 'PUT') return { status: 200, body: await this.update(plugin, ctx, id, await readBody(req, this.config.maxBodyBytes), revisionConstraint(req)) };
      if (method === 'DELETE') {
        await this.remove(plugin, ctx, id, revisionConstraint(req));
        return { status: 204 };
      }
      throw new MethodNotAllowed();
    }
    if (sub === 'tags' && plugin.taggable && parts.length <= 5) {
      const body = method === 'PUT' && tag === undefined ? await readBody(req, this.config.maxBodyBytes) : undefined;
      return this.tags(plugin, ctx, id, method, tag, body);
    }
    const action = plugin.memberActions?.[sub];
    if (action && parts.length === 4) {
      if (method !== 'PUT') throw new MethodNotAllowed();
      const body = await readBody(req, this.config.maxBodyBytes);
      this.requireWrite(ctx, `${sub}`);
      const out = await runTx(this.store, async (tx) => {
        const rec = await this.loadVisible(tx, plugin, ctx, id);
        this.requireOwner(ctx, rec, `${sub}`);
        const r = await action(tx, ctx, rec, body);
        if (r.record) tx.putJson(resourceKey(plugin.collection, id), this.bump(r.record, rec));
        return r.body;
      });
      return { status: 200, body: out };
    }
    throw new HttpNotFound(url.pathname);
  }

  private versions(base: string): unknown {
    return { versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ href: `${base}/v2.0/`, rel: 'self' }] }] };
  }

  private resourcesDoc(base: string): unknown {
    return {
      resources: this.registry.all().map((p) => ({
        name: p.member,
        collection: p.collection,
        links: [{ href: `${base}/v2.0/${p.collection}`, rel: 'self' }],
      })),
    };
  }

  private extensionsRoute(method: string, parts: string[]): { status: number; body: unknown } {
    if (method !== 'GET') throw new MethodNotAllowed();
    const render = (e: { alias: string; name: string; description: string; updated?: string }): unknown => ({
      alias: e.alias,
      name: e.name,
      description: e.description,
      updated: e.updated ?? '2024-01-01T00:00:00-00:00',
      links: [],
    });
    const exts = this.registry.extensions();
    if (parts.length === 2) return { status: 200, body: { extensions: exts.map(render) } };
    const found = exts.find((e) => e.alias === parts[2]);
    if (!found || parts.length > 3) throw new HttpNotFound(`extension ${parts[2]}`);
    return { status: 200, body: { extension: render(found) } };
  }

  // ---- views -------------------------------------------------------------------------------

  /** Render records as API objects for ctx (internal fields and admin-only attributes removed). */
  async render(tx: Tx, plugin: ResourcePlugin, ctx: RequestContext, records: readonly StandardRecord[]): Promise<ApiObject[]> {
    const derive = plugin.derive ? await plugin.derive(tx, records) : undefined;
    const hidden = this.hiddenFields(plugin, ctx);
    return records.map((r) => {
      // Copy field by field (no `delete`: it would leave slow dictionary-mode objects behind).
      const o: ApiObject = {};
      for (const k in r) if (!hidden.has(k)) o[k] = (r as unknown as ApiObject)[k];
      if (!hidden.has('tenant_id')) o.tenant_id = r.project_id;
      if (derive) for (const [k, v] of Object.entries(derive(r))) if (!hidden.has(k)) o[k] = v;
      return o;
    });
  }

  private readonly hiddenCache = new Map<ResourcePlugin, [Set<string>, Set<string>]>();

  /** Fields not shown to ctx: the plugin's internal fields, and admin-only ones to non-admins. */
  private hiddenFields(plugin: ResourcePlugin, ctx: RequestContext): ReadonlySet<string> {
    let sets = this.hiddenCache.get(plugin);
    if (sets === undefined) {
      const internal = new Set(plugin.internalFields ?? []);
      const forUsers = new Set([...internal, ...Object.entries(plugin.attributes).filter(([, a]) => a.adminOnlyRead).map(([k]) => k)]);
      sets = [internal, forUsers];
      this.hiddenCache.set(plugin, sets);
    }
    return ctx.isAdmin ? sets[0] : sets[1];
  }

  private async canSee(tx: Tx, plugin: ResourcePlugin, ctx: RequestContext, r: StandardRecord): Promise<boolean> {
    if (ctx.isAdmin) return true;
    if (plugin.canSee) return plugin.canSee(ctx, r, tx);
    return r.project_id === ctx.projectId;
  }

  private async loadVisible(tx: Tx, plugin: ResourcePlugin, ctx: RequestContext, id: string): Promise<StandardRecord> {
    const got = await tx.getJson<StandardRecord>(resourceKey(plugin.collection, id));
    if (!got || !(await this.canSee(tx, plugin, ctx, got.value))) throw plugin.notFound(id);
    return got.value;
  }

  private requireOwner(ctx: RequestContext, r: StandardRecord, action: string): void {
    if (!ctx.isAdmin && r.project_id !== ctx.projectId) throw new PolicyNotAuthorized(action);
  }

  private requireWrite(ctx: RequestContext, action: string): void {
    if (!ctx.canWrite) throw new PolicyNotAuthorized(action);
  }

  /**
   * Parsed records (and their rendered JSON per view) of the last list of each collection, by key
   * and modRevision: a value at a given key and modRevision never changes, so repeated lists
   * only parse and serialize what changed. Only lists use it, and never mutate what it holds.
   */
  private readonly listCache = new Map<string, Map<string, ListEntry>>();

  private async listRecords(tx: Tx, prefix: string): Promise<ListEntry[]> {
    const old = this.listCache.get(prefix);
    const kvs = (await this.rangeChanged(prefix, old)) ?? (await tx.range(prefix));
    const fresh = new Map<string, ListEntry>();
    const out: ListEntry[] = new Array(kvs.length);
    for (let i = 0; i < kvs.length; i++) {
      const kv = kvs[i];
      let e = old?.get(kv.key);
      if (e === undefined || e.modRevision !== kv.modRevision || kv.modRevision === 0) {
        // (A value-less kv from rangeChanged always matches its cached entry.)
        e = { modRevision: kv.modRevision, record: JSON.parse(kv.value) as StandardRecord, json: [undefined, undefined] };
      }
      fresh.set(kv.key, e);
      out[i] = e;
    }
    this.listCache.set(prefix, fresh);
    return out;
  }

  /**
   * Where the store lists keys without values (etcd): the keys and revisions, then the values
   * of only the keys not cached at that revision; undefined (read everything) when most changed.
   * Keys deleted between the two reads are left out, as if listed a moment later.
   */
  private async rangeChanged(prefix: string, cached: Map<string, ListEntry> | undefined): Promise<KeyValue[] | undefined> {
    const store = this.store;
    if (!store.rangeKeys || cached === undefined || cached.size === 0) return undefined;
    const metas = (await store.rangeKeys(prefix)).kvs;
    const changed = metas.filter((m) => cached.get(m.key)?.modRevision !== m.modRevision).map((m) => m.key);
    if (changed.length > metas.length / 4) return undefined;
    const fetched = new Map<string, KeyValue>();
    const chunks: string[][] = [];
    for (let i = 0; i < changed.length; i += 100) chunks.push(changed.slice(i, i + 100));
    await Promise.all(
      chunks.map(async (keys) => {
        const got = store.readMany ? await store.readMany(keys.map((key) => ({ key }))) : await Promise.all(keys.map(async (k) => [await store.get(k)].filter((kv) => kv !== undefined)));
        for (const r of got) for (const kv of r) fetched.set(kv.key, kv);
      }),
    );
    const out: KeyValue[] = [];
    for (const m of metas) {
      const e = cached.get(m.key);
      if (e !== undefined && e.modRevision === m.modRevision) out.push(m);
      else {
        const kv = fetched.get(m.key);
        if (kv !== undefined) out.push(kv);
      }
    }
    return out;
  }

  private async list(plugin: ResourcePlugin, ctx: RequestContext, url: URL): Promise<unknown> {
    const tx = new Tx(this.store);
    const params = url.searchParams;
    const sort = parseSort(plugin, params);
    if (plugin.beforeList) await plugin.beforeList(ctx, params);
    const entries = plugin.computeRecords
      ? (await plugin.computeRecords(tx, ctx)).map((record): ListEntry => ({ modRevision: 0, record, json: [undefined, undefined] }))
      : await this.listRecords(tx, plugin.prefix);
    const visible: ListEntry[] = [];
    for (const e of entries) {
      const r = e.record;
      // Synchronous answers (admin, owner, most plugins) cost no await.
      const v = ctx.isAdmin ? true : plugin.canSee ? plugin.canSee(ctx, r, tx) : r.project_id === ctx.projectId;
      if (v === true || (v !== false && (await v))) visible.push(e);
    }
    const fields = params.getAll('fields');
    const bodyKey = plugin.bodyCollection ?? plugin.collection;
    const view = ctx.isAdmin ? 1 : 0;
    if (params.size === 0 && !plugin.derive && visible.every((e) => e.json[view] !== undefined)) {
      // A plain list with every object serialized before: no rendering, filtering or sorting
      // (records come in id order, the default sort).
      return this.listBody(bodyKey, visible.map((e) => e.json[view]!), []);
    }
    const rendered = await this.render(tx, plugin, ctx, visible.map((e) => e.record));
    const entryOf = new Map<ApiObject, ListEntry>();
    rendered.forEach((o, i) => entryOf.set(o, visible[i]));
    let objs = applyFilters(plugin, rendered, params);
    for (const [name, make] of Object.entries(plugin.storeFilters ?? {})) {
      const wanted = params.getAll(name);
      if (wanted.length === 0) continue;
      const test = await make(tx, wanted);
      objs = objs.filter(test);
    }
    objs = sortObjects(objs, sort);
    const page = paginate(objs, params, url);
    if (fields.length === 0 && !plugin.derive && !plugin.computeRecords) {
      // Serialize each object once per (record revision, view); reuse it in later lists.
      const items = page.items.map((o) => {
        const e = entryOf.get(o)!;
        return (e.json[view] ??= Buffer.from(JSON.stringify(o)));
      });
      return this.listBody(bodyKey, items, page.links);
    }
    const body: Record<string, unknown> = { [bodyKey]: page.items.map((o) => selectFields(o, fields)) };
    if (page.links.length > 0) body[`${bodyKey}_links`] = page.links;
    return body;
  }

  private listBody(bodyKey: string, items: readonly Buffer[], links: Page['links']): RawJson {
    const parts: Buffer[] = [Buffer.from(`{${JSON.stringify(bodyKey)}:[`)];
    items.forEach((b, i) => {
      if (i > 0) parts.push(COMMA);
      parts.push(b);
    });
    let tail = ']';
    if (links.length > 0) tail += `,${JSON.stringify(`${bodyKey}_links`)}:${JSON.stringify(links)}`;
    parts.push(Buffer.from(`${tail}}`));
    return new RawJson(Buffer.concat(parts));
  }

  private async show(plugin: ResourcePlugin, ctx: RequestContext, id: string, fields: string[]): Promise<unknown> {
    const tx = new Tx(this.store);
    let rec: StandardRecord;
    if (plugin.computeRecords) {
      const found = (await plugin.computeRecords(tx, ctx)).find((r) => r.id === id);
      if (!found || !(await this.canSee(tx, plugin, ctx, found))) throw plugin.notFound(id);
      rec = found;
    } else {
      rec = await this.loadVisible(tx, plugin, ctx, id);
    }
    const [obj] = await this.render(tx, plugin, ctx, [rec]);
    return { [plugin.member]: selectFields(obj, fields) };
  }

  // ---- writes --------------------------------------------------------------------------------

  /** Validate one member body against the attribute map. */
  private checkInput(plugin: ResourcePlugin, ctx: RequestContext, raw: unknown, mode: 'create' | 'update'): Input {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new BadRequest(`Invalid input for ${plugin.member}: body must be an object`);
    }
    const input: Input = {};
    const unknown = Object.keys(raw).filter((k) => !(k in plugin.attributes));
    if (unknown.length > 0) throw new BadRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
    for (const [k, v] of Object.entries(raw)) {
      const spec = plugin.attributes[k];
      if (mode === 'create' && !spec.allowPost) throw new BadRequest(`Attribute '${k}' not allowed in POST`);
      if (mode === 'update' && !spec.allowPut) throw new BadRequest(`Cannot update read-only attribute ${k}`);
      input[k] = spec.convert ? spec.convert(v, k) : v;
      if (spec.adminOnlyWrite && !ctx.isAdmin) throw new PolicyNotAuthorized(`${mode}_${plugin.member}:${k}`);
    }
    if (mode === 'create') {
      for (const [k, spec] of Object.entries(plugin.attributes)) {
        if (input[k] !== undefined) continue;
        if (spec.required) throw new BadRequest(`Failed to parse request. Required attribute '${k}' not specified`);
        if (spec.default !== undefined) input[k] = typeof spec.default === 'function' ? (spec.default as () => unknown)() : structuredClone(spec.default);
      }
      const p = input.project_id;
      const t = input.tenant_id;
      if (p !== undefined && t !== undefined && p !== t) throw new BadRequest("'project_id' and 'tenant_id' do not match");
      const project = (p ?? t ?? ctx.projectId) as string;
      if (project !== ctx.projectId && !ctx.isAdmin) {
        throw new BadRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges");
      }
      if (project === '') throw invalidAttribute('project_id', 'project_id must not be empty');
      input.project_id = project;
      delete input.tenant_id;
    }
    return input;
  }

  private async create(plugin: ResourcePlugin, ctx: RequestContext, body: unknown): Promise<unknown> {
    this.requireWrite(ctx, `create_${plugin.member}`);
    const obj = body as Record<string, unknown> | null;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new BadRequest('Body must be a JSON object');
    const keys = Object.keys(obj);
    const bodyKey = plugin.bodyCollection ?? plugin.collection;
    const bulk = keys.length === 1 && keys[0] === bodyKey;
    if (!bulk && !(keys.length === 1 && keys[0] === plugin.member)) {
      throw new BadRequest(`Unable to find '${plugin.member}' in request body`);
    }
    const items = bulk ? obj[bodyKey] : [obj[plugin.member]];
    if (!Array.isArray(items) || items.length === 0) throw new BadRequest(`Resources required: '${bodyKey}' must be a non-empty list`);
    // A bulk item may also come wrapped in its member name ({"networks": [{"network": {...}}]}),
    // as Neutron accepts.
    const unwrap = (i: unknown): unknown => {
      if (!bulk || typeof i !== 'object' || i === null || Array.isArray(i)) return i;
      const keys = Object.keys(i);
      return keys.length === 1 && keys[0] === plugin.member ? (i as Record<string, unknown>)[plugin.member] : i;
    };
    const inputs = items.map((i) => this.checkInput(plugin, ctx, unwrap(i), 'create'));
    const { records, objs } = await runTx(this.store, async (tx) => {
      const created: StandardRecord[] = [];
      for (const input of inputs) {
        const now = timestamp();
        const base: StandardRecord = {
          id: randomUUID(),
          name: (input.name as string | undefined) ?? '',
          description: (input.description as string | undefined) ?? '',
          project_id: input.project_id as string,
          tags: [],
          created_at: now,
          updated_at: now,
          revision_number: 0,
        };
        const rec = await plugin.create(tx, ctx, input, base);
        // After the plugin (whose prefetch may have read the quota key with its other reads).
        await this.quotas.check(tx, plugin.collection, base.project_id);
        for (const c of plugin.quotaAlso ?? []) await this.quotas.ensureWithin(tx, c, base.project_id);
        const key = resourceKey(plugin.collection, rec.id);
        tx.absent(key);
        tx.putJson(key, rec);
        created.push(rec);
      }
      return { records: created, objs: await this.render(tx, plugin, ctx, created) };
    });
    void records;
    return bulk ? { [bodyKey]: objs } : { [plugin.member]: objs[0] };
  }

  /** Standard attribute bookkeeping for an updated record. */
  private bump<R extends StandardRecord>(next: R, current: StandardRecord): R {
    if (JSON.stringify(next) === JSON.stringify(current)) return next;
    return { ...next, revision_number: current.revision_number + 1, updated_at: timestamp() };
  }

  private async update(plugin: ResourcePlugin, ctx: RequestContext, id: string, body: unknown, ifMatch?: number): Promise<unknown> {
    this.requireWrite(ctx, `update_${plugin.member}`);
    const obj = body as Record<string, unknown> | null;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || !(plugin.member in obj) || Object.keys(obj).length !== 1) {
      throw new BadRequest(`Unable to find '${plugin.member}' in request body`);
    }
    const changes = this.checkInput(plugin, ctx, obj[plugin.member], 'update');
    const out = await runTx(this.store, async (tx) => {
      const current = await this.loadVisible(tx, plugin, ctx, id);
      this.requireOwner(ctx, current, `update_${plugin.member}`);
      checkRevision(current, ifMatch);
      const next = this.bump(await plugin.update(tx, ctx, current, changes), current);
      for (const h of this.hooks.beforeUpdate.get(plugin.collection) ?? []) await h(tx, ctx, current, next);
      tx.putJson(resourceKey(plugin.collection, id), next);
      return (await this.render(tx, plugin, ctx, [next]))[0];
    });
    return { [plugin.member]: out };
  }

  private async remove(plugin: ResourcePlugin, ctx: RequestContext, id: string, ifMatch?: number): Promise<void> {
    this.requireWrite(ctx, `delete_${plugin.member}`);
    await runTx(this.store, async (tx) => {
      const current = await this.loadVisible(tx, plugin, ctx, id);
      if (!(plugin.mayDelete && !ctx.isAdmin && (await plugin.mayDelete(ctx, current, tx)))) this.requireOwner(ctx, current, `delete_${plugin.member}`);
      checkRevision(current, ifMatch);
      for (const h of this.hooks.beforeDelete.get(plugin.collection) ?? []) await h(tx, ctx, current);
      await plugin.delete(tx, ctx, current);
      tx.delete(resourceKey(plugin.collection, id));
    });
  }

  private async tags(
    plugin: ResourcePlugin,
    ctx: RequestContext,
    id: string,
    method: string,
    tag: string | undefined,
    body: unknown,
  ): Promise<{ status: number; body?: unknown }> {
    if (method === 'GET') {
      const rec = await this.loadVisible(new Tx(this.store), plugin, ctx, id);
      if (tag === undefined) return { status: 200, body: { tags: rec.tags } };
      if (!rec.tags.includes(tag)) throw new TagNotFound(tag, plugin.member, id);
      return { status: 204 };
    }
    if (method !== 'PUT' && method !== 'DELETE') throw new MethodNotAllowed();
    this.requireWrite(ctx, `update_${plugin.member}`);
    let wanted: string[] | undefined;
    if (method === 'PUT' && tag === undefined) {
      const tags = (body as { tags?: unknown } | null)?.tags;
      if (!Array.isArray(tags)) throw invalidAttribute('tags', "'tags' must be a list");
      wanted = tags.map((t) => checkTag(t));
      if (new Set(wanted).size !== wanted.length) throw invalidAttribute('tags', 'duplicate tags');
    } else if (tag !== undefined) {
      checkTag(tag);
    }
    return runTx(this.store, async (tx) => {
      const current = await this.loadVisible(tx, plugin, ctx, id);
      this.requireOwner(ctx, current, `update_${plugin.member}`);
      let tags: readonly string[];
      let result: { status: number; body?: unknown };
      if (method === 'PUT') {
        if (wanted) {
          tags = wanted;
          result = { status: 200, body: { tags } };
        } else {
          tags = current.tags.includes(tag!) ? current.tags : [...current.tags, tag!];
          result = { status: 201 };
        }
      } else if (tag === undefined) {
        tags = [];
        result = { status: 204 };
      } else {
        if (!current.tags.includes(tag)) throw new TagNotFound(tag, plugin.member, id);
        tags = current.tags.filter((t) => t !== tag);
        result = { status: 204 };
      }
      tx.putJson(resourceKey(plugin.collection, id), this.bump({ ...current, tags }, current));
      return result;
    });
  }

  /** Listen; resolves with the server and its base URL. */
  async listen(host: string, port: number): Promise<{ server: Server; url: string }> {
    const server = createServer(this.handle);
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return { server, url: `http://${h}:${addr.port}` };
  }
}

/**
 * The `revision-if-match` constraint: `If-Match: revision_number=N` on PUT or DELETE (other
 * entity tags are ignored, as Neutron does); a malformed number → 400.
 */
function revisionConstraint(req: IncomingMessage): number | undefined {
  const h = req.headers['if-match'];
  if (h === undefined) return undefined;
  for (const part of (Array.isArray(h) ? h.join(',') : h).split(',')) {
    const t = part.trim();
    if (!t.startsWith('revision_number=')) continue;
    const v = t.slice('revision_number='.length);
    if (!/^-?[0-9]+$/.test(v)) throw new BadRequest(`If-Match header requires revision_number to be an integer, not '${v}'`);
    return Number(v);
  }
  return undefined;
}

function checkRevision(current: StandardRecord, ifMatch: number | undefined): void {
  if (ifMatch !== undefined && current.revision_number !== ifMatch) throw new RevisionNumberConstraintFailed(ifMatch, current.revision_number);
}

function checkTag(t: unknown): string {
  if (typeof t !== 'string' || t.length === 0 || t.length > 255 || t.includes(',') || t.includes('/')) {
    throw invalidAttribute('tags', `'${String(t)}' is not a valid tag`);
  }
  return t;
}

/** Neutron's timestamp format: seconds precision, `Z`. */
export function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function send(res: ServerResponse, status: number, body: unknown, requestId: string): void {
  res.setHeader('X-Openstack-Request-Id', requestId);
  if (body === undefined) {
    res.statusCode = status;
    res.setHeader('Content-Length', '0');
    res.end();
    return;
  }
  const bytes = body instanceof RawJson ? body.bytes : Buffer.from(jsonText(body));
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', bytes.length);
  res.end(bytes);
}

/** Marks a BigInt in JSON text until it is written as a bare number (unguessable: per process). */
const BIGINT_MARK = `\u0000bigint-${randomUUID()}:`;
const BIGINT_RE = new RegExp(`"${JSON.stringify(BIGINT_MARK).slice(1, -1).replace(/\\/g, '\\\\')}(-?[0-9]+)"`, 'g');

/**
 * JSON text of a response body; BigInt values (IPv6 address counts, beyond 2^53) are written as
 * exact JSON numbers, as Python's json module writes Neutron's integers.
 */
export function jsonText(body: unknown): string {
  let big = false;
  const text = JSON.stringify(body, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    big = true;
    return `${BIGINT_MARK}${v}`;
  });
  return big ? text.replace(BIGINT_RE, '$1') : text;
}

/** A response body already serialized (UTF-8 JSON). */
class RawJson {
  constructor(readonly bytes: Buffer) {}
}

const COMMA = Buffer.from(',');

/** One record as lists see it: parsed once per modRevision, its JSON per view (user, admin). */
interface ListEntry {
  readonly modRevision: number;
  readonly record: StandardRecord;
  readonly json: [Buffer | undefined, Buffer | undefined];
}

async function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new RequestEntityTooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw new RequestEntityTooLarge(limit);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new MalformedBody();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MalformedBody();
  }
}
