/**
 * What a north-bound record is about, for routed watches (store/types.ts `SubjectFn`): the
 * subjects a chassis can hold. A network and everything in it is `net:<id>`. A router is
 * `router:<id>`; its interface ports carry it too, so a chassis that holds the router sees
 * them on every network. A port is also `port:<id>`, so its own chassis sees it before it holds
 * the network. Keys outside networks, subnets, ports and routers have no subject: a routed
 * watcher never receives them.
 *
 * Reads the routing header (model/record-codec.ts) and never parses a record that has one.
 */
import { idFromKey, NETWORKS_PREFIX, PORTS_PREFIX, ROUTERS_PREFIX, SUBNETS_PREFIX } from './keys.js';
import { peekHeader, type RecordHeader } from './record-codec.js';
import { DEVICE_OWNER_ROUTER_INTERFACE, DEVICE_OWNER_ROUTER_INTERFACE_LEGACY } from './records.js';
import type { SubjectFn } from '../store/types.js';

export const networkSubject = (id: string): string => `net:${id}`;
export const routerSubject = (id: string): string => `router:${id}`;
export const portSubject = (id: string): string => `port:${id}`;

/** What a north-bound record is about: its network, and the router it is an interface of. */
export interface RecordAbout {
  readonly network?: string;
  readonly router?: string;
}

export function isRouterInterface(p: { readonly device_owner?: unknown }): boolean {
  return p.device_owner === DEVICE_OWNER_ROUTER_INTERFACE || p.device_owner === DEVICE_OWNER_ROUTER_INTERFACE_LEGACY;
}

const PORT_HEADER = ['network_id', 'device_owner', 'device_id'] as const;
const SUBNET_HEADER = ['network_id'] as const;

/**
 * What the record under `key` is about, from its routing fields (`f`: a parsed record or a
 * header; undefined for a key without a record, e.g. a delete of a record not held).
 */
export function aboutFields(key: string, f: Partial<RecordHeader> | undefined): RecordAbout {
  if (key.startsWith(NETWORKS_PREFIX)) return { network: idFromKey(key) };
  if (key.startsWith(ROUTERS_PREFIX)) return { router: idFromKey(key) };
  if (!f) return {};
  const network = typeof f.network_id === 'string' ? f.network_id : undefined;
  if (key.startsWith(SUBNETS_PREFIX)) return { network };
  if (!key.startsWith(PORTS_PREFIX)) return {};
  const router = isRouterInterface(f) && typeof f.device_id === 'string' && f.device_id !== '' ? f.device_id : undefined;
  return { network, router };
}

/**
 * What a stored record is about, from the key (networks, routers) or the routing header
 * (subnets, ports), without parsing. Undefined when the header cannot tell: parse it then.
 */
export function aboutText(key: string, text: string): RecordAbout | undefined {
  const port = key.startsWith(PORTS_PREFIX);
  if (!port && !key.startsWith(SUBNETS_PREFIX)) return aboutFields(key, undefined);
  const h = peekHeader(text, port ? PORT_HEADER : SUBNET_HEADER);
  return h && h.id === idFromKey(key) ? aboutFields(key, h) : undefined;
}

function parsedFields(text: string): Partial<RecordHeader> | undefined {
  try {
    const rec = JSON.parse(text) as unknown;
    return rec !== null && typeof rec === 'object' ? (rec as Partial<RecordHeader>) : undefined;
  } catch {
    return undefined;
  }
}

const NO_SUBJECT: readonly string[] = [];

/** The subjects of north-bound key `key` holding `value` (undefined: the key has no value). */
export const nbSubjects: SubjectFn = Object.assign(nbSubjectsOf, { routeName: 'nb' });

/** The store service's routes by name (see store/http-service.ts). */
export const STORE_ROUTES: Readonly<Record<string, SubjectFn>> = { nb: nbSubjects };

function nbSubjectsOf(key: string, value: string | undefined): readonly string[] | undefined {
  if (key.startsWith(NETWORKS_PREFIX)) return [networkSubject(idFromKey(key))];
  if (key.startsWith(ROUTERS_PREFIX)) return [routerSubject(idFromKey(key))];
  const port = key.startsWith(PORTS_PREFIX);
  if (!port && !key.startsWith(SUBNETS_PREFIX)) return NO_SUBJECT;
  if (value === undefined) return NO_SUBJECT;
  const about = aboutText(key, value) ?? aboutFields(key, parsedFields(value));
  if (about.network === undefined) return undefined; // cannot tell: deliver to all
  const out = [networkSubject(about.network)];
  if (port) out.push(portSubject(idFromKey(key)));
  if (about.router !== undefined) out.push(routerSubject(about.router));
  return out;
}
