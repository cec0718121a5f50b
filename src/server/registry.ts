/**
 * The resource registry. A Neutron resource is one file exporting a `PluginFactory`; the
 * framework (app.ts) does routing, body parsing, attribute checks, policy on attributes,
 * transactions with retry, standard attributes (revision_number, timestamps, tags endpoints),
 * filters, fields, sorting and pagination. The plugin only supplies the resource's semantics.
 *
 * Adding a resource:
 *   1. write src/server/resources/<name>.ts exporting `const fooPlugin: PluginFactory`
 *   2. add it to `CORE_PLUGINS` in src/server/resources/index.ts (or call `registry.register`).
 * Cross-resource behaviour goes through `ServerHooks` (see below), never by editing another
 * resource's file.
 */
import type { Store } from '../store/types.js';
import type { StandardRecord } from '../model/records.js';
import type { AttributeMap } from './attributes.js';
import type { ServerConfig } from './config.js';
import type { RequestContext } from './context.js';
import type { NeutronFault } from './errors.js';
import type { Tx } from './tx.js';

/** A Neutron API object as rendered: plain JSON. */
export type ApiObject = Record<string, unknown>;
/** Validated request attributes (after converters and static defaults). */
export type Input = Record<string, unknown>;

export interface ExtensionDescriptor {
  readonly alias: string;
  readonly name: string;
  readonly description: string;
  readonly updated?: string;
}

/** Everything a plugin may use; one per server. */
export interface ServerEnv {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly hooks: ServerHooks;
  readonly registry: Registry;
}

export interface ResourcePlugin<R extends StandardRecord = StandardRecord> {
  /** Collection name in URLs and store keys: `networks`. */
  readonly collection: string;
  /** Member name in bodies: `network`. */
  readonly member: string;
  /**
   * Collection name in JSON bodies when it differs from the URL's (`security_groups` for
   * `/v2.0/security-groups`); default `collection`.
   */
  readonly bodyCollection?: string;
  /** Store prefix of the records, normally `collectionPrefix(collection)`. */
  readonly prefix: string;
  readonly attributes: AttributeMap;
  /** Record fields never shown in the API (e.g. the OpenFlow `key`). */
  readonly internalFields?: readonly string[];
  /** Extension aliases this resource implements (listed by GET /v2.0/extensions). */
  readonly extensions?: readonly ExtensionDescriptor[];
  /**
   * Other collections a create of this resource adds records to, whose quota must hold too
   * (security groups: their default rules count against `security_group_rule`).
   */
  readonly quotaAlso?: readonly string[];
  /** Has a `tags` attribute and the /tags sub-resource. */
  readonly taggable?: boolean;
  notFound(id: string): NeutronFault;
  /**
   * Create: validate against the store, write side keys through `tx`, return the record
   * (the framework writes it, with standard attributes already filled in `base`).
   */
  create(tx: Tx, ctx: RequestContext, input: Input, base: StandardRecord): Promise<R>;
  /** Update: return the new record; `changes` holds only the attributes given. */
  update(tx: Tx, ctx: RequestContext, current: R, changes: Input): Promise<R>;
  /** Delete: check "in use", delete side keys through `tx` (the framework deletes the record). */
  delete(tx: Tx, ctx: RequestContext, current: R): Promise<void>;
  /**
   * May `ctx` (not admin, able to see the record) delete it? Default: the record's project.
   * Ports: also the network's owner (Neutron's `network_owner` rule on delete_port).
   */
  mayDelete?(ctx: RequestContext, record: R, tx: Tx): Promise<boolean>;
  /** May `ctx` see this record? Default: admin or owner. */
  canSee?(ctx: RequestContext, record: R, tx: Tx): boolean | Promise<boolean>;
  /**
   * Derived fields for a batch of records (a network's `subnets`), computed once per request;
   * merged into each view.
   */
  derive?(tx: Tx, records: readonly R[]): Promise<(r: R) => ApiObject>;
  /** Extra filter semantics for attributes that are structured (fixed_ips=ip_address=...). */
  readonly filters?: Readonly<Record<string, (obj: ApiObject, wanted: readonly string[]) => boolean>>;
  /**
   * Filters that need the store (a subnet's `shared` is its network's): `(tx)` returns the
   * object test, computed once per list. The attribute must be declared (filter-validation).
   */
  readonly storeFilters?: Readonly<Record<string, (tx: Tx, wanted: readonly string[]) => Promise<(obj: ApiObject) => boolean>>>;
  /**
   * Run before a list is read (its own transactions): e.g. security groups create the project's
   * default group the first time it lists them, as Neutron does.
   */
  beforeList?(ctx: RequestContext, params: URLSearchParams): Promise<void>;
  /**
   * Operations the resource does not offer (405 HTTPMethodNotAllowed): agents are registered by
   * controllers, never POSTed; availability zones are read only.
   */
  readonly readOnly?: { readonly create?: boolean; readonly update?: boolean; readonly delete?: boolean };
  /**
   * Records not stored under `prefix` but computed for each list (availability zones, from the
   * chassis registrations). Lists use them instead of the store's records.
   */
  computeRecords?(tx: Tx, ctx: RequestContext): Promise<StandardRecord[]>;
  /** `PUT /v2.0/<collection>/<id>/<action>` (e.g. routers' add_router_interface). */
  readonly memberActions?: Readonly<
    Record<string, (tx: Tx, ctx: RequestContext, record: R, body: unknown) => Promise<{ body: unknown; record?: R }>>
  >;
}

export type PluginFactory = (env: ServerEnv) => ResourcePlugin;

/**
 * Cross-resource hook points. Each is set or appended by the module that owns the behaviour;
 * everything defaults to "nothing to do".
 */
export interface ServerHooks {
  /**
   * Called in the port-create transaction when a port with port security asks for no explicit
   * security_groups: returns the id of the project's default security group (creating it through
   * `tx` if needed), or undefined (then the port gets []). Provided by the security-group module.
   */
  ensureDefaultSecurityGroup?: (tx: Tx, projectId: string) => Promise<string | undefined>;
  /** Check that the given security group ids exist and are usable by ctx; throw a fault if not. */
  validateSecurityGroups?: (tx: Tx, ctx: RequestContext, ids: readonly string[]) => Promise<void>;
  /**
   * Run inside the delete transaction of a record of `collection` before it is deleted; throw a
   * fault (e.g. 409) to refuse. Keyed by collection: `ports`, `subnets`, `networks`.
   */
  beforeDelete: Map<string, ((tx: Tx, ctx: RequestContext, record: StandardRecord) => Promise<void>)[]>;
  /** Run inside the update transaction of a port (e.g. a floating IP losing its fixed IP). */
  beforeUpdate: Map<string, ((tx: Tx, ctx: RequestContext, current: StandardRecord, next: StandardRecord) => Promise<void>)[]>;
}

export function emptyHooks(): ServerHooks {
  return { beforeDelete: new Map(), beforeUpdate: new Map() };
}

export function addHook<K extends 'beforeDelete' | 'beforeUpdate'>(
  hooks: ServerHooks,
  kind: K,
  collection: string,
  fn: ServerHooks[K] extends Map<string, (infer F)[]> ? F : never,
): void {
  const map = hooks[kind] as Map<string, unknown[]>;
  const list = map.get(collection) ?? [];
  list.push(fn);
  map.set(collection, list);
}

export class Registry {
  private readonly plugins = new Map<string, ResourcePlugin>();
  private readonly extraExtensions: ExtensionDescriptor[] = [];

  register(plugin: ResourcePlugin): void {
    if (this.plugins.has(plugin.collection)) throw new Error(`resource ${plugin.collection} registered twice`);
    this.plugins.set(plugin.collection, plugin);
  }

  /** Extensions not tied to one resource (pagination, sorting, ...). */
  addExtension(ext: ExtensionDescriptor): void {
    this.extraExtensions.push(ext);
  }

  get(collection: string): ResourcePlugin | undefined {
    return this.plugins.get(collection);
  }

  /** The plugin of `collection`, typed to its record; throws if missing (a wiring bug). */
  require<R extends StandardRecord>(collection: string): ResourcePlugin<R> {
    const p = this.plugins.get(collection);
    if (!p) throw new Error(`resource ${collection} is not registered`);
    return p as unknown as ResourcePlugin<R>;
  }

  all(): readonly ResourcePlugin[] {
    return [...this.plugins.values()];
  }

  extensions(): ExtensionDescriptor[] {
    const seen = new Map<string, ExtensionDescriptor>();
    for (const e of this.extraExtensions) seen.set(e.alias, e);
    for (const p of this.plugins.values()) for (const e of p.extensions ?? []) seen.set(e.alias, e);
    return [...seen.values()].sort((a, b) => a.alias.localeCompare(b.alias));
  }
}
