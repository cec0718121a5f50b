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

const NO_SUBJECT: readonly string[] = [];
const PORT_HEADER = ['network_id', 'device_owner', 'device_id'] as const;
const SUBNET_HEADER = ['network_id'] as const;

function fields(text: string, required: readonly (keyof RecordHeader)[]): Partial<RecordHeader> | undefined {
  const h = peekHeader(text, required);
  if (h) return h;
  try {
    const rec = JSON.parse(text) as unknown;
    return rec !== null && typeof rec === 'object' ? (rec as Partial<RecordHeader>) : undefined;
  } catch {
    return undefined;
  }
}

/** The subjects of north-bound key `key` holding `value` (undefined: the key has no value). */
export const nbSubjects: SubjectFn = Object.assign(nbSubjectsOf, { routeName: 'nb' });

/** The store service's routes by name (see store/http-service.ts). */
export const STORE_ROUTES: Readonly<Record<string, SubjectFn>> = { nb: nbSubjects };

function nbSubjectsOf(key: string, value: string | undefined): readonly string[] | undefined {
  if (key.startsWith(NETWORKS_PREFIX)) return [networkSubject(idFromKey(key))];
  if (key.startsWith(ROUTERS_PREFIX)) return [routerSubject(idFromKey(key))];
  const subnet = key.startsWith(SUBNETS_PREFIX);
  if (!subnet && !key.startsWith(PORTS_PREFIX)) return NO_SUBJECT;
  if (value === undefined) return NO_SUBJECT;
  const f = fields(value, subnet ? SUBNET_HEADER : PORT_HEADER);
  if (!f || typeof f.network_id !== 'string') return undefined; // cannot tell: deliver to all
  if (subnet) return [networkSubject(f.network_id)];
  const out = [networkSubject(f.network_id), portSubject(idFromKey(key))];
  const routerIface = f.device_owner === DEVICE_OWNER_ROUTER_INTERFACE || f.device_owner === DEVICE_OWNER_ROUTER_INTERFACE_LEGACY;
  if (routerIface && typeof f.device_id === 'string' && f.device_id !== '') out.push(routerSubject(f.device_id));
  return out;
}
