/**
 * The north-bound collections a chassis reads, one declaration each: where its records live,
 * how a stored record is decoded (checked), what a record is about (its subjects, for routed
 * watches and the controller's cache), and what else a chassis that holds it needs. The
 * controller's cache (controller/nb-cache.ts), the store's watch routing (subjects.ts) and the
 * local topology (controller/local-topology.ts) all work from this table; a new collection is one
 * more entry here.
 *
 * Subjects are what a chassis can hold:
 *   net:<id>     a network and everything in it (subnets, ports);
 *   router:<id>  a router and its interface ports (on every network);
 *   port:<id>    one port (a chassis sees its own ports before it holds their networks);
 *   sg:<id>      a security group and its rules (the groups of the chassis' own ports);
 *   sgm:<id>     the member ports of a group and the group's record (the remote groups those
 *                rules name: their addresses).
 *   ext:<id>     an external network's record, subnets and router gateway ports (what a chassis
 *                routing to the outside through it needs, without every port on it);
 *   fip:<port>   the floating IPs associated with a port (held with the chassis' own ports);
 *   gw:all       every router gateway port (held by gateway chassis: they claim unbound ones).
 */
import type { Decoder } from './decode.js';
import {
  collectionPrefix,
  idFromKey,
  NB_PREFIX,
} from './keys.js';
import { peekHeader, type HeaderField, type RecordHeader } from './record-codec.js';
import {
  floatingIpRecord,
  networkRecord,
  portRecord,
  routerRecord,
  securityGroupRecord,
  securityGroupRuleRecord,
  subnetRecord,
} from './record-decoders.js';
import {
  DEVICE_OWNER_ROUTER_GATEWAY,
  DEVICE_OWNER_ROUTER_INTERFACE,
  DEVICE_OWNER_ROUTER_INTERFACE_LEGACY,
  type FloatingIpRecord,
  type NetworkRecord,
  type PortRecord,
  type RouterRecord,
  type SecurityGroupRecord,
  type SecurityGroupRuleRecord,
  type SubnetRecord,
} from './records.js';

export type SubjectKind = 'net' | 'router' | 'port' | 'sg' | 'sgm' | 'ext' | 'fip' | 'gw';

export const networkSubject = (id: string): string => `net:${id}`;
export const routerSubject = (id: string): string => `router:${id}`;
export const portSubject = (id: string): string => `port:${id}`;
export const groupSubject = (id: string): string => `sg:${id}`;
export const groupMembersSubject = (id: string): string => `sgm:${id}`;
export const externalSubject = (id: string): string => `ext:${id}`;
export const floatingIpsSubject = (portId: string): string => `fip:${portId}`;
export const GATEWAYS_SUBJECT = 'gw:all';

export function subjectKind(subject: string): SubjectKind {
  return subject.slice(0, subject.indexOf(':')) as SubjectKind;
}
export function subjectId(subject: string): string {
  return subject.slice(subject.indexOf(':') + 1);
}

export function isRouterInterface(p: { readonly device_owner?: unknown }): boolean {
  return p.device_owner === DEVICE_OWNER_ROUTER_INTERFACE || p.device_owner === DEVICE_OWNER_ROUTER_INTERFACE_LEGACY;
}

export function isRouterGateway(p: { readonly device_owner?: unknown }): boolean {
  return p.device_owner === DEVICE_OWNER_ROUTER_GATEWAY;
}

/** The routing fields of a record (its header, or the parsed record itself). */
export type AboutFields = Partial<RecordHeader>;

export interface CollectionDecl<R> {
  /** The Neutron collection name under `/nb/`. */
  readonly name: string;
  readonly prefix: string;
  /** Checked decoder of a stored record. */
  readonly decode: Decoder<R>;
  /** Header fields `about` reads; empty when the key alone tells. */
  readonly header: readonly HeaderField[];
  /** Subject kinds this collection's records can be about (which collections a load ranges). */
  readonly kinds: readonly SubjectKind[];
  /**
   * The subjects of the record with this id, from its routing fields; undefined when they
   * cannot tell (a field missing or of the wrong type).
   */
  about(id: string, f: AboutFields): readonly string[] | undefined;
  /** What else a chassis holding `rec` needs, given the subjects it wants so far. */
  wants?(rec: R, wanted: ReadonlySet<string>): readonly string[];
}

const str = (v: unknown): v is string => typeof v === 'string';

function decl<R>(d: CollectionDecl<R>): CollectionDecl<R> {
  return d;
}

export const NETWORKS = decl<NetworkRecord>({
  name: 'networks',
  prefix: collectionPrefix('networks'),
  decode: networkRecord,
  header: [],
  kinds: ['net', 'ext'],
  about: (id) => [networkSubject(id), externalSubject(id)],
});

export const SUBNETS = decl<SubnetRecord>({
  name: 'subnets',
  prefix: collectionPrefix('subnets'),
  decode: subnetRecord,
  header: ['network_id'],
  kinds: ['net', 'ext'],
  about: (_id, f) => (str(f.network_id) ? [networkSubject(f.network_id), externalSubject(f.network_id)] : undefined),
});

export const PORTS = decl<PortRecord>({
  name: 'ports',
  prefix: collectionPrefix('ports'),
  decode: portRecord,
  header: ['network_id', 'device_owner', 'device_id', 'security_groups'],
  kinds: ['net', 'router', 'port', 'sgm', 'ext', 'gw'],
  about: (id, f) => {
    if (!str(f.network_id) || !Array.isArray(f.security_groups)) return undefined;
    const out = [networkSubject(f.network_id), portSubject(id)];
    if (isRouterInterface(f) && str(f.device_id) && f.device_id !== '') out.push(routerSubject(f.device_id));
    if (isRouterGateway(f)) {
      // A router's gateway: held with the router, with its external network, and by gateway chassis.
      if (str(f.device_id) && f.device_id !== '') out.push(routerSubject(f.device_id));
      out.push(externalSubject(f.network_id), GATEWAYS_SUBJECT);
    }
    for (const g of f.security_groups) if (str(g)) out.push(groupMembersSubject(g));
    return out;
  },
  wants: (p, wanted) => {
    const out: string[] = [];
    // A port bound here: its network, its security groups, its floating IPs; a gateway port
    // hosted here: its router (and through it every network the router reaches).
    if (wanted.has(portSubject(p.id))) {
      out.push(networkSubject(p.network_id), floatingIpsSubject(p.id));
      for (const g of p.security_groups) out.push(groupSubject(g));
      if (isRouterGateway(p) && p.device_id !== '') out.push(routerSubject(p.device_id));
    }
    // Routing happens on the sending chassis: a router on a network we hold, and every network
    // that router reaches.
    if (isRouterInterface(p) && p.device_id !== '') {
      if (wanted.has(networkSubject(p.network_id))) out.push(routerSubject(p.device_id));
      if (wanted.has(routerSubject(p.device_id))) out.push(networkSubject(p.network_id));
    }
    return out;
  },
});

export const ROUTERS = decl<RouterRecord>({
  name: 'routers',
  prefix: collectionPrefix('routers'),
  decode: routerRecord,
  header: [],
  kinds: ['router'],
  about: (id) => [routerSubject(id)],
  // Routing to the outside: the external network's record, subnets and gateway ports.
  wants: (r, wanted) =>
    r.external_gateway_info !== null && wanted.has(routerSubject(r.id)) ? [externalSubject(r.external_gateway_info.network_id)] : [],
});

export const FLOATINGIPS = decl<FloatingIpRecord>({
  name: 'floatingips',
  prefix: collectionPrefix('floatingips'),
  decode: floatingIpRecord,
  header: ['port_id'],
  kinds: ['fip'],
  // Unassociated: about nothing (no chassis holds it).
  about: (_id, f) => (str(f.port_id) ? [floatingIpsSubject(f.port_id)] : f.port_id === null || f.port_id === undefined ? [] : undefined),
});

export const SECURITY_GROUPS = decl<SecurityGroupRecord>({
  name: 'security-groups',
  prefix: collectionPrefix('security-groups'),
  decode: securityGroupRecord,
  header: [],
  // Held for the groups enforced here (with their rules) and for remote groups (their key).
  kinds: ['sg', 'sgm'],
  about: (id) => [groupSubject(id), groupMembersSubject(id)],
});

export const SECURITY_GROUP_RULES = decl<SecurityGroupRuleRecord>({
  name: 'security-group-rules',
  prefix: collectionPrefix('security-group-rules'),
  decode: securityGroupRuleRecord,
  header: ['security_group_id'],
  kinds: ['sg'],
  about: (_id, f) => (str(f.security_group_id) ? [groupSubject(f.security_group_id)] : undefined),
  // A rule of a group we enforce that names a remote group: that group's members' addresses.
  wants: (r, wanted) =>
    r.remote_group_id !== null && wanted.has(groupSubject(r.security_group_id)) ? [groupMembersSubject(r.remote_group_id)] : [],
});

/** Every collection a chassis reads, in the order the cache applies a load's ranges. */
export const NB_COLLECTIONS = [NETWORKS, SUBNETS, PORTS, ROUTERS, SECURITY_GROUPS, SECURITY_GROUP_RULES, FLOATINGIPS] as const;

export type NbCollectionDecl = (typeof NB_COLLECTIONS)[number];
export type NbCollectionName = NbCollectionDecl['name'];

/** The declaration of the collection holding `key`, or undefined (not a collection a chassis reads). */
export function collectionOfKey(key: string): CollectionDecl<unknown> | undefined {
  if (!key.startsWith(NB_PREFIX)) return undefined;
  for (const c of NB_COLLECTIONS) if (key.startsWith(c.prefix)) return c as CollectionDecl<unknown>;
  return undefined;
}

function parsedFields(text: string): AboutFields | undefined {
  try {
    const rec = JSON.parse(text) as unknown;
    return rec !== null && typeof rec === 'object' && !Array.isArray(rec) ? (rec as AboutFields) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The subjects of a stored record, from the key (networks, routers, groups) or the routing
 * header, without parsing; undefined when the header cannot tell (parse it then).
 */
export function aboutText(c: CollectionDecl<unknown>, key: string, text: string): readonly string[] | undefined {
  const id = idFromKey(key);
  if (c.header.length === 0) return c.about(id, {});
  const h = peekHeader(text, c.header);
  return h && h.id === id ? c.about(id, h) : undefined;
}

/** The subjects of a stored record: from its header, else by parsing it; undefined if neither tells. */
export function aboutStored(c: CollectionDecl<unknown>, key: string, text: string): readonly string[] | undefined {
  const fast = aboutText(c, key, text);
  if (fast) return fast;
  const f = parsedFields(text);
  return f ? c.about(idFromKey(key), f) : undefined;
}
