/**
 * routers: L3 routers (router, extraroute, ext-gw-mode, extraroute-atomic) with
 * add/remove_router_interface. Interfaces are ports (device_owner
 * `network:router_interface_distributed`, device_id = router id, one fixed IP each); the gateway
 * is a port on the external network (device_owner `network:router_gateway`). Every interface or
 * gateway change rewrites the router record, so concurrent changes to one router serialize on
 * its modRevision.
 */
import { cidrContains, cidrsOverlap, parseCidr, parseIp } from '../../model/ip-address.js';
import { FLOATINGIPS_PREFIX, MAX_ROUTER_KEY, ipKey, networkGuardKey, PORTS_PREFIX, resourceKey, ROUTER_KEY_PREFIX, routerGuardKey, routerKeyKey, ROUTERS_PREFIX } from '../../model/keys.js';
import {
  DEVICE_OWNER_FLOATINGIP,
  DEVICE_OWNER_ROUTER_GATEWAY,
  DEVICE_OWNER_ROUTER_INTERFACE,
  DEVICE_OWNER_ROUTER_INTERFACE_LEGACY,
  type ExternalGatewayInfo,
  type FloatingIpRecord,
  type HostRoute,
  type NetworkRecord,
  type PortRecord,
  type RouterRecord,
  type StandardRecord,
  type SubnetRecord,
} from '../../model/records.js';
import { bool, dict, ipAddress, listOf, standardAttributes, uuid, type Converter } from '../attributes.js';
import type { RequestContext } from '../context.js';
import { Conflict, invalidAttribute, PolicyNotAuthorized, PortNotFound, RetryLimitExceeded, SubnetNotFound } from '../errors.js';
import { allocateInteger } from '../ipam.js';
import { createInternalPort, deleteInternalPort, rewritePort } from '../internal-ports.js';
import {
  CentralizedRouterNotSupported,
  InvalidRoutes,
  PortInUse,
  ResourceBadRequest,
  RouterExternalGatewayInUseByFloatingIp,
  RouterInterfaceInUseByFloatingIP,
  RouterInterfaceInUseByRoute,
  RouterInterfaceNotFound,
  RouterInterfaceNotFoundForSubnet,
  RouterInUse,
  RouterNotFound,
  RoutesExhausted,
  ServicePortInUse,
} from '../l3-errors.js';
import { addHook, type Input, type PluginFactory, type ResourcePlugin, type ServerEnv } from '../registry.js';
import type { Tx } from '../tx.js';
import { loadNetwork, networkUsable } from './networks.js';
import { loadSubnet, subnetsOfNetwork } from './subnets.js';

/** Neutron's default max_routes. */
export const MAX_ROUTES = 30;

export const ROUTER_INTERFACE_OWNERS: readonly string[] = [DEVICE_OWNER_ROUTER_INTERFACE, DEVICE_OWNER_ROUTER_INTERFACE_LEGACY];
const ROUTER_PORT_OWNERS: readonly string[] = [...ROUTER_INTERFACE_OWNERS, DEVICE_OWNER_ROUTER_GATEWAY];

interface GatewayRequest {
  readonly network_id: string;
  readonly enable_snat?: boolean;
  readonly external_fixed_ips?: readonly { subnet_id?: string; ip_address?: string }[];
}

const gatewayDict = dict({
  network_id: { convert: uuid, required: true },
  enable_snat: { convert: bool },
  external_fixed_ips: { convert: listOf(dict({ subnet_id: { convert: uuid }, ip_address: { convert: ipAddress } })) },
});
/** `null` or `{}` clears the gateway (what `openstack router unset --external-gateway` sends). */
const gatewayConverter: Converter = (v, attr) => {
  if (v === null) return null;
  if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return null;
  return gatewayDict(v, attr);
};

const routeDict = dict({
  destination: {
    convert: (v, a) => {
      const c = parseCidr(v);
      if (!c || typeof v !== 'string') throw invalidAttribute(a, `'${String(v)}' is not a valid IP subnet`);
      return v.includes('/') ? v : `${v}/${c.prefixLen}`;
    },
    required: true,
  },
  nexthop: { convert: ipAddress, required: true },
});
const routesConverter = listOf(routeDict);
/** `routes: null` on update clears the routes, as in Neutron (the tempest cleanup sends it). */
const routesUpdateConverter: Converter = (v, attr) => (v === null ? [] : routesConverter(v, attr));


function routesText(routes: readonly HostRoute[]): string {
  return JSON.stringify(routes);
}

/** Ports of a router (interfaces and gateway), unguarded; the router record guards them. */
export async function routerPorts(tx: Tx, routerId: string): Promise<PortRecord[]> {
  return (await tx.rangeJson<PortRecord>(PORTS_PREFIX, { where: { device_id: routerId } })).filter((p) => ROUTER_PORT_OWNERS.includes(p.device_owner));
}

export function isInterface(p: PortRecord): boolean {
  return ROUTER_INTERFACE_OWNERS.includes(p.device_owner);
}

/** Guarded read of a router; RouterNotFound if missing or invisible to ctx. */
export async function loadRouter(tx: Tx, ctx: RequestContext, id: string): Promise<RouterRecord> {
  const got = await tx.getJson<RouterRecord>(resourceKey('routers', id));
  if (!got || (!ctx.isAdmin && got.value.project_id !== ctx.projectId)) throw new RouterNotFound(id);
  return got.value;
}

/** Subnets of the given router ports, with their CIDRs. */
async function portSubnets(tx: Tx, ports: readonly PortRecord[]): Promise<{ port: PortRecord; subnet: SubnetRecord }[]> {
  const out: { port: PortRecord; subnet: SubnetRecord }[] = [];
  for (const p of ports) {
    for (const f of p.fixed_ips) {
      const s = await tx.peekJsonCached<SubnetRecord>(resourceKey('subnets', f.subnet_id));
      if (s) out.push({ port: p, subnet: s });
    }
  }
  return out;
}

/** Neutron's _check_for_dup_router_subnets: same subnet twice, or overlapping CIDRs. */
async function checkNewSubnets(tx: Tx, routerId: string, existing: readonly PortRecord[], adding: readonly SubnetRecord[]): Promise<void> {
  const have = await portSubnets(tx, existing);
  for (const s of adding) {
    const c = parseCidr(s.cidr)!;
    for (const { subnet: o } of have) {
      if (o.id === s.id) throw new ResourceBadRequest('router', `Router ${routerId} already has a port on subnet ${s.id}`);
      if (cidrsOverlap(c, parseCidr(o.cidr)!)) throw new ResourceBadRequest('router', `Cidr ${s.cidr} of subnet ${s.id} overlaps with cidr ${o.cidr} of subnet ${o.id}`);
    }
  }
}

/** Floating IPs associated through this router (guarded by the router guard key). */
async function floatingIpsOf(tx: Tx, routerId: string): Promise<FloatingIpRecord[]> {
  await tx.get(routerGuardKey(routerId));
  return (await tx.rangeJson<FloatingIpRecord>(FLOATINGIPS_PREFIX)).filter((f) => f.router_id === routerId);
}

async function validateRoutes(tx: Tx, router: RouterRecord, routes: readonly HostRoute[], ports: readonly PortRecord[]): Promise<void> {
  if (routes.length > MAX_ROUTES) throw new RoutesExhausted(router.id, MAX_ROUTES);
  const subnets = await portSubnets(tx, ports);
  const ownIps = new Set(ports.flatMap((p) => p.fixed_ips.map((f) => f.ip_address)));
  for (const r of routes) {
    const d = parseCidr(r.destination)!;
    const nh = parseIp(r.nexthop)!;
    if (d.version !== nh.version) throw new InvalidRoutes(routesText([r]), 'the nexthop and the destination are of different IP versions');
    if (!subnets.some(({ subnet }) => cidrContains(parseCidr(subnet.cidr)!, nh))) throw new InvalidRoutes(routesText([r]), 'the nexthop is not connected with router');
    if (ownIps.has(r.nexthop)) throw new InvalidRoutes(routesText([r]), 'the nexthop is used by router');
  }
}

function normaliseRoutes(routes: readonly HostRoute[]): HostRoute[] {
  const out: HostRoute[] = [];
  for (const r of routes) {
    const c = parseCidr(r.destination)!;
    const ip = parseIp(r.destination.slice(0, r.destination.indexOf('/')))!;
    if (ip.value !== c.network) throw new InvalidRoutes(routesText([r]), `the destination ${r.destination} has host bits set`);
    if (!out.some((o) => o.destination === r.destination && o.nexthop === r.nexthop)) out.push(r);
  }
  return out;
}

/**
 * Bring the router's gateway to `want` (null: none). Returns the new gateway info and port id.
 * `routerPortsNow` are the router's ports before the change.
 */
async function applyGateway(
  env: ServerEnv,
  tx: Tx,
  ctx: RequestContext,
  router: { id: string; external_gateway_info: ExternalGatewayInfo | null; gw_port_id: string | null },
  want: GatewayRequest | null,
  routerPortsNow: readonly PortRecord[],
): Promise<{ info: ExternalGatewayInfo | null; gwPortId: string | null }> {
  const cur = router.external_gateway_info;
  const curPort = routerPortsNow.find((p) => p.id === router.gw_port_id);
  if (want && (want.enable_snat !== undefined || want.external_fixed_ips !== undefined) && !ctx.isAdmin) {
    throw new PolicyNotAuthorized(want.enable_snat !== undefined ? 'update_router:external_gateway_info:enable_snat' : 'update_router:external_gateway_info:external_fixed_ips');
  }
  const enableSnat = want?.enable_snat ?? true;
  // Same network, same addresses: only enable_snat may change.
  if (want && cur && curPort && want.network_id === cur.network_id) {
    const sameIps = want.external_fixed_ips === undefined || want.external_fixed_ips.every((w) => curPort.fixed_ips.some((f) => (w.subnet_id === undefined || w.subnet_id === f.subnet_id) && (w.ip_address === undefined || w.ip_address === f.ip_address)));
    if (sameIps && (want.external_fixed_ips === undefined || want.external_fixed_ips.length === curPort.fixed_ips.length)) {
      return { info: { ...cur, enable_snat: enableSnat }, gwPortId: curPort.id };
    }
  }
  if (cur) {
    const fips = await floatingIpsOf(tx, router.id);
    if (fips.some((f) => f.floating_network_id === cur.network_id) && want?.network_id !== cur.network_id) {
      throw new RouterExternalGatewayInUseByFloatingIp(router.id, cur.network_id);
    }
    if (curPort) await deleteInternalPort(env, tx, curPort);
  }
  if (!want) return { info: null, gwPortId: null };
  const net = await loadNetwork(tx, ctx, want.network_id);
  if (!net['router:external']) throw new ResourceBadRequest('router', `Network ${net.id} is not an external network`);
  const subnets = await subnetsOfNetwork(tx, net.id);
  if (subnets.length === 0) throw new ResourceBadRequest('router', `Network ${net.id} has no subnets`);
  const others = routerPortsNow.filter((p) => p.id !== curPort?.id);
  const wanted = want.external_fixed_ips ?? [];
  const chosen = wanted.length === 0 ? subnets : subnets.filter((s) => wanted.some((w) => w.subnet_id === s.id || (w.ip_address !== undefined && cidrContains(parseCidr(s.cidr)!, parseIp(w.ip_address)!))));
  await checkNewSubnets(tx, router.id, others, chosen);
  const port = await createInternalPort(env, tx, {
    networkId: net.id,
    projectId: '',
    deviceId: router.id,
    deviceOwner: DEVICE_OWNER_ROUTER_GATEWAY,
    fixedIps: want.external_fixed_ips,
  });
  if (port.fixed_ips.length === 0) throw new ResourceBadRequest('router', `No address could be allocated on external network ${net.id}`);
  return { info: { network_id: net.id, enable_snat: enableSnat, external_fixed_ips: port.fixed_ips.map((f) => ({ subnet_id: f.subnet_id, ip_address: f.ip_address })) }, gwPortId: port.id };
}

interface InterfaceInfo {
  readonly subnet_id?: string;
  readonly port_id?: string;
}

function interfaceInfo(body: unknown, adding: boolean): InterfaceInfo {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ResourceBadRequest('router', 'Either subnet_id or port_id must be specified');
  const b = body as Record<string, unknown>;
  const subnetId = b.subnet_id === undefined || b.subnet_id === null ? undefined : (uuid(b.subnet_id, 'subnet_id') as string);
  const portId = b.port_id === undefined || b.port_id === null ? undefined : (uuid(b.port_id, 'port_id') as string);
  if (subnetId === undefined && portId === undefined) throw new ResourceBadRequest('router', 'Either subnet_id or port_id must be specified');
  if (adding && subnetId !== undefined && portId !== undefined) throw new ResourceBadRequest('router', 'Cannot specify both subnet-id and port-id');
  return { subnet_id: subnetId, port_id: portId };
}

function interfaceBody(router: RouterRecord, port: PortRecord, subnetId: string): Record<string, unknown> {
  return {
    id: router.id,
    tenant_id: router.project_id,
    project_id: router.project_id,
    port_id: port.id,
    network_id: port.network_id,
    subnet_id: subnetId,
    subnet_ids: port.fixed_ips.map((f) => f.subnet_id),
  };
}

function touched(router: RouterRecord): RouterRecord {
  // Any difference makes the framework bump revision_number and updated_at.
  return { ...router, revision_number: router.revision_number + 1 };
}

export const routersPlugin: PluginFactory = (env) => {
  const plugin: ResourcePlugin<RouterRecord> = {
    collection: 'routers',
    member: 'router',
    prefix: ROUTERS_PREFIX,
    taggable: true,
    internalFields: ['key', 'gw_port_id'],
    attributes: {
      ...standardAttributes(),
      admin_state_up: { allowPost: true, allowPut: true, default: true, convert: bool },
      status: { allowPost: false, allowPut: false },
      distributed: { allowPost: true, allowPut: true, default: true, convert: bool, adminOnlyWrite: true },
      external_gateway_info: { allowPost: true, allowPut: true, default: null, convert: gatewayConverter },
      routes: { allowPost: false, allowPut: true, convert: routesUpdateConverter },
    },
    extensions: [
      { alias: 'router', name: 'Neutron L3 Router', description: 'Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.' },
      { alias: 'extraroute', name: 'Neutron Extra Route', description: 'Extra routes configuration for L3 router' },
      { alias: 'extraroute-atomic', name: 'Atomically add/remove extra routes', description: 'Edit extra routes of a router on server side by atomically adding/removing extra routes' },
      { alias: 'ext-gw-mode', name: 'Neutron L3 Configurable external gateway mode', description: 'Extension of the router abstraction for specifying whether SNAT should occur on the external gateway' },
    ],
    notFound: (id) => new RouterNotFound(id),

    async create(tx, ctx, input, base): Promise<RouterRecord> {
      if (input.distributed === false) throw new CentralizedRouterNotSupported();
      const key = await allocateInteger(tx, ROUTER_KEY_PREFIX, [[1, MAX_ROUTER_KEY]], base.id);
      if (key === undefined) throw new RetryLimitExceeded();
      const gw = await applyGateway(env, tx, ctx, { id: base.id, external_gateway_info: null, gw_port_id: null }, input.external_gateway_info as GatewayRequest | null, []);
      return {
        ...base,
        admin_state_up: input.admin_state_up as boolean,
        status: 'ACTIVE',
        distributed: true,
        external_gateway_info: gw.info,
        routes: [],
        gw_port_id: gw.gwPortId,
        key,
      };
    },

    async update(tx, ctx, current, changes: Input): Promise<RouterRecord> {
      if (changes.distributed === false) throw new CentralizedRouterNotSupported();
      let ports = await routerPorts(tx, current.id);
      const next: Record<string, unknown> = { ...current };
      for (const k of ['name', 'description', 'admin_state_up']) if (changes[k] !== undefined) next[k] = changes[k];
      if (changes.external_gateway_info !== undefined) {
        const gw = await applyGateway(env, tx, ctx, current, changes.external_gateway_info as GatewayRequest | null, ports);
        next.external_gateway_info = gw.info;
        next.gw_port_id = gw.gwPortId;
        ports = await routerPorts(tx, current.id);
        if (changes.routes === undefined && current.routes.length > 0) await validateRoutes(tx, current, current.routes, ports);
      }
      if (changes.routes !== undefined) {
        const routes = normaliseRoutes(changes.routes as HostRoute[]);
        await validateRoutes(tx, current, routes, ports);
        next.routes = routes;
      }
      return next as unknown as RouterRecord;
    },

    async delete(tx, _ctx, r): Promise<void> {
      const ports = await routerPorts(tx, r.id);
      if (ports.some(isInterface)) throw new RouterInUse(r.id);
      if ((await floatingIpsOf(tx, r.id)).length > 0) throw new RouterInUse(r.id);
      for (const p of ports) await deleteInternalPort(env, tx, p);
      tx.delete(routerKeyKey(r.key));
      tx.delete(routerGuardKey(r.id));
    },

    memberActions: {
      async add_router_interface(tx, ctx, router, body) {
        const info = interfaceInfo(body, true);
        const ports = await routerPorts(tx, router.id);
        let port: PortRecord;
        let subnetId: string;
        if (info.subnet_id !== undefined) {
          const subnet = await loadSubnet(tx, info.subnet_id).catch(() => undefined);
          const net = subnet ? await tx.peekJsonCached<NetworkRecord>(resourceKey('networks', subnet.network_id)) : undefined;
          if (!subnet || !net || !networkUsable(ctx, net)) throw new SubnetNotFound(info.subnet_id);
          if (subnet.gateway_ip === null) throw new ResourceBadRequest('router', `Subnet for router interface must have a gateway IP`);
          await checkNewSubnets(tx, router.id, ports, [subnet]);
          port = await createInternalPort(env, tx, {
            networkId: subnet.network_id,
            projectId: router.project_id,
            deviceId: router.id,
            deviceOwner: DEVICE_OWNER_ROUTER_INTERFACE,
            fixedIps: [{ subnet_id: subnet.id, ip_address: subnet.gateway_ip }],
          });
          subnetId = subnet.id;
        } else {
          const got = await tx.getJson<PortRecord>(resourceKey('ports', info.port_id!));
          if (!got || (!ctx.isAdmin && got.value.project_id !== ctx.projectId)) throw new PortNotFound(info.port_id!);
          const p = got.value;
          if (p.device_id !== '' || p.device_owner !== '') throw new PortInUse(p.network_id, p.id, p.device_id);
          if (p.fixed_ips.length === 0) throw new ResourceBadRequest('router', `Router port must have at least one fixed IP`);
          if (p.fixed_ips.length > 1) throw new ResourceBadRequest('router', `Port ${p.id} has more than one fixed IP: a router port takes exactly one`);
          const subnet = await loadSubnet(tx, p.fixed_ips[0].subnet_id);
          await checkNewSubnets(tx, router.id, ports, [subnet]);
          port = rewritePort(tx, p, {
            ...p,
            device_id: router.id,
            device_owner: DEVICE_OWNER_ROUTER_INTERFACE,
            security_groups: [],
            port_security_enabled: false,
            allowed_address_pairs: [],
          });
          tx.put(networkGuardKey(p.network_id), p.id);
          subnetId = subnet.id;
        }
        return { body: interfaceBody(router, port, subnetId), record: touched(router) };
      },

      async remove_router_interface(tx, _ctx, router, body) {
        const info = interfaceInfo(body, false);
        const ports = await routerPorts(tx, router.id);
        let port: PortRecord | undefined;
        let subnet: SubnetRecord;
        if (info.port_id !== undefined) {
          port = ports.find((p) => p.id === info.port_id && isInterface(p));
          if (!port) throw new RouterInterfaceNotFound(router.id, info.port_id);
          if (info.subnet_id !== undefined && !port.fixed_ips.some((f) => f.subnet_id === info.subnet_id)) {
            throw new Conflict('SubnetMismatchForPort', `Subnet on port ${port.id} does not match the requested subnet ${info.subnet_id}.`);
          }
          subnet = await loadSubnet(tx, info.subnet_id ?? port.fixed_ips[0].subnet_id);
        } else {
          subnet = await loadSubnet(tx, info.subnet_id!);
          port = ports.find((p) => isInterface(p) && p.fixed_ips.some((f) => f.subnet_id === info.subnet_id));
          if (!port) throw new RouterInterfaceNotFoundForSubnet(router.id, info.subnet_id!);
        }
        const cidr = parseCidr(subnet.cidr)!;
        const fips = await floatingIpsOf(tx, router.id);
        if (fips.some((f) => f.fixed_ip_address !== null && cidrContains(cidr, parseIp(f.fixed_ip_address)!))) {
          throw new RouterInterfaceInUseByFloatingIP(router.id, subnet.id);
        }
        const remaining = await portSubnets(tx, ports.filter((p) => p.id !== port!.id));
        for (const r of router.routes) {
          const nh = parseIp(r.nexthop)!;
          if (cidrContains(cidr, nh) && !remaining.some(({ subnet: s }) => cidrContains(parseCidr(s.cidr)!, nh))) {
            throw new RouterInterfaceInUseByRoute(router.id, subnet.id);
          }
        }
        await deleteInternalPort(env, tx, port);
        return { body: interfaceBody(router, port, subnet.id), record: touched(router) };
      },

      async add_extraroutes(tx, _ctx, router, body) {
        const routes = extraRoutesBody(body);
        const merged = normaliseRoutes([...router.routes, ...routes]);
        await validateRoutes(tx, router, merged, await routerPorts(tx, router.id));
        const next = { ...router, routes: merged };
        return { body: { router: renderOne(next) }, record: next };
      },

      async remove_extraroutes(tx, _ctx, router, body) {
        const routes = normaliseRoutes(extraRoutesBody(body));
        const left = router.routes.filter((r) => !routes.some((x) => x.destination === r.destination && x.nexthop === r.nexthop));
        const next = { ...router, routes: left };
        return { body: { router: renderOne(next) }, record: next };
      },
    },
  };

  // Router-owned ports go away only through the router API.
  addHook(env.hooks, 'beforeDelete', 'ports', async (tx, _ctx, rec) => {
    const p = rec as PortRecord;
    if (p.device_id === '') return;
    if (ROUTER_PORT_OWNERS.includes(p.device_owner)) {
      if (await tx.get(resourceKey('routers', p.device_id))) throw new ServicePortInUse(p.id, `has device owner ${p.device_owner}`);
    } else if (p.device_owner === DEVICE_OWNER_FLOATINGIP) {
      if (await tx.get(resourceKey('floatingips', p.device_id))) throw new ServicePortInUse(p.id, `has device owner ${p.device_owner}`);
    }
  });

  // A router's ports keep their owner and addresses while the router exists (the router API
  // changes them); the subnet gateway a router interface holds cannot be moved from under it.
  addHook(env.hooks, 'beforeUpdate', 'ports', async (tx, _ctx, current, next) => {
    const c = current as PortRecord;
    const n = next as PortRecord;
    if (!ROUTER_PORT_OWNERS.includes(c.device_owner) || c.device_id === '') return;
    if (c.device_owner === n.device_owner && c.device_id === n.device_id && JSON.stringify(c.fixed_ips) === JSON.stringify(n.fixed_ips)) return;
    if (await tx.get(resourceKey('routers', c.device_id))) {
      throw new Conflict('PortInUse', `Unable to complete operation on port ${c.id} for network ${c.network_id}. Port already has an attached device ${c.device_id}.`);
    }
  });
  addHook(env.hooks, 'beforeUpdate', 'subnets', async (tx, _ctx, current, next) => {
    const c = current as SubnetRecord;
    const n = next as SubnetRecord;
    if (c.gateway_ip === null || c.gateway_ip === n.gateway_ip) return;
    const held = await tx.get(ipKey(c.id, c.gateway_ip));
    if (!held) return;
    const port = await tx.getJson<PortRecord>(resourceKey('ports', held.value));
    if (port && ROUTER_INTERFACE_OWNERS.includes(port.value.device_owner)) {
      throw new Conflict('GatewayIpInUse', `Current gateway ip ${c.gateway_ip} already in use by port ${port.value.id}. Unable to update.`);
    }
  });

  // An external network with gateway or floating IP ports stays external.
  addHook(env.hooks, 'beforeUpdate', 'networks', async (tx, _ctx, current, next) => {
    const c = current as NetworkRecord;
    const n = next as NetworkRecord;
    if (!c['router:external'] || n['router:external']) return;
    await tx.get(networkGuardKey(c.id));
    const ports = await tx.rangeJson<PortRecord>(PORTS_PREFIX, { where: { network_id: c.id } });
    if (ports.some((p) => p.device_owner === DEVICE_OWNER_ROUTER_GATEWAY || p.device_owner === DEVICE_OWNER_FLOATINGIP)) {
      throw new Conflict('ExternalNetworkInUse', `External network ${c.id} cannot be updated, since it has existing gateway ports.`);
    }
  });

  return plugin as unknown as ResourcePlugin<StandardRecord>;
};

function extraRoutesBody(body: unknown): HostRoute[] {
  const b = body as { router?: { routes?: unknown } } | null;
  if (typeof b !== 'object' || b === null || typeof b.router !== 'object' || b.router === null || Object.keys(b).length !== 1) {
    throw new ResourceBadRequest('router', "Body must be {'router': {'routes': [...]}}");
  }
  const keys = Object.keys(b.router);
  if (keys.length !== 1 || keys[0] !== 'routes') throw new ResourceBadRequest('router', "Body must be {'router': {'routes': [...]}}");
  return routesConverter(b.router.routes, 'routes') as HostRoute[];
}

/** The API view of a router after a member action (the framework bumps the revision). */
function renderOne(r: RouterRecord): Record<string, unknown> {
  const o: Record<string, unknown> = { ...r, tenant_id: r.project_id, revision_number: r.revision_number + 1 };
  delete o.key;
  delete o.gw_port_id;
  return o;
}
