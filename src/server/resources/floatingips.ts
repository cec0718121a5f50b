/**
 * floatingips: an address on a router:external network held by an internal port
 * (device_owner `network:floatingip`), optionally associated with a fixed IP of a port whose
 * subnet is attached to a router with its gateway on that network (router_id derived).
 * One association per port address: `/ipam/floatingip-assoc/<port>/<ip>` (createRevision 0).
 */
import { parseIp } from '../../model/ip-address.js';
import { FLOATINGIPS_PREFIX, floatingIpAssocKey, ipPrefix, PORTS_PREFIX, resourceKey, routerGuardKey } from '../../model/keys.js';
import { DEVICE_OWNER_FLOATINGIP, type FloatingIpRecord, type PortRecord, type RouterRecord, type StandardRecord, type SubnetRecord } from '../../model/records.js';
import { ipAddress, nullable, standardAttributes, uuid } from '../attributes.js';
import { internalContext, type RequestContext } from '../context.js';
import { IpAddressGenerationFailure, PortNotFound } from '../errors.js';
import { createInternalPort, deleteInternalPort } from '../internal-ports.js';
import { ExternalGatewayForFloatingIPNotFound, FloatingIPNotFound, FloatingIPPortAlreadyAssociated, ResourceBadRequest } from '../l3-errors.js';
import { addHook, type PluginFactory, type ResourcePlugin } from '../registry.js';
import { timestamp } from '../time.js';
import type { Tx } from '../tx.js';
import { loadNetwork } from './networks.js';
import { isInterface } from './routers.js';
import { subnetsOfNetwork } from './subnets.js';

interface Association {
  readonly port_id: string | null;
  readonly fixed_ip_address: string | null;
  readonly router_id: string | null;
}

const NONE: Association = { port_id: null, fixed_ip_address: null, router_id: null };

/** Free addresses left in a subnet's pools (counting allocations inside the pools only). */
async function freeInPools(tx: Tx, s: SubnetRecord): Promise<bigint> {
  const pools = s.allocation_pools.map((p) => ({ start: parseIp(p.start)!.value, end: parseIp(p.end)!.value }));
  const total = pools.reduce((n, p) => n + (p.end - p.start + 1n), 0n);
  const prefix = ipPrefix(s.id);
  let used = 0n;
  for (const kv of await tx.range(prefix)) {
    const v = parseIp(kv.key.slice(prefix.length))?.value;
    if (v !== undefined && pools.some((p) => p.start <= v && v <= p.end)) used++;
  }
  return total - used;
}

/** Resolve and check an association for `fip` (port visible to ctx, routed to the fip's network). */
async function associate(tx: Tx, ctx: RequestContext, fip: { id: string; project_id: string; floating_network_id: string }, portId: string, fixedIp: string | undefined): Promise<Association> {
  const got = await tx.getJson<PortRecord>(resourceKey('ports', portId));
  if (!got || (!ctx.isAdmin && got.value.project_id !== ctx.projectId) || (got.value.project_id !== fip.project_id && !ctx.isAdmin)) throw new PortNotFound(portId);
  const port = got.value;
  if (port.network_id === fip.floating_network_id) throw new ResourceBadRequest('floatingip', `Port ${port.id} is on the external network ${fip.floating_network_id}`);
  const v4 = port.fixed_ips.filter((f) => parseIp(f.ip_address)!.version === 4);
  let chosen;
  if (fixedIp !== undefined) {
    chosen = port.fixed_ips.find((f) => f.ip_address === fixedIp);
    if (!chosen) throw new ResourceBadRequest('floatingip', `Port ${port.id} does not have fixed ip ${fixedIp}`);
    if (parseIp(fixedIp)!.version !== 4) throw new ResourceBadRequest('floatingip', `Cannot associate floating IP with an IPv6 fixed IP ${fixedIp}`);
  } else {
    if (v4.length === 0) throw new ResourceBadRequest('floatingip', `Port ${port.id} does not have any IPv4 address`);
    if (v4.length > 1) throw new ResourceBadRequest('floatingip', `Port ${port.id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP`);
    chosen = v4[0];
  }
  // The router: an interface on the address's subnet, with its gateway on the floating network.
  const ifaces = (await tx.rangeJson<PortRecord>(PORTS_PREFIX)).filter((p) => isInterface(p) && p.fixed_ips.some((f) => f.subnet_id === chosen.subnet_id));
  let routerId: string | undefined;
  for (const iface of ifaces.sort((a, b) => (a.device_id < b.device_id ? -1 : 1))) {
    const r = await tx.getJson<RouterRecord>(resourceKey('routers', iface.device_id));
    if (r && r.value.external_gateway_info?.network_id === fip.floating_network_id) {
      routerId = r.value.id;
      break;
    }
  }
  if (routerId === undefined) throw new ExternalGatewayForFloatingIPNotFound(fip.floating_network_id, chosen.subnet_id, port.id);
  const assocKey = floatingIpAssocKey(port.id, chosen.ip_address);
  const held = await tx.get(assocKey);
  if (held && held.value !== fip.id) throw new FloatingIPPortAlreadyAssociated(fip.id, chosen.ip_address, port.id, fip.floating_network_id);
  tx.put(assocKey, fip.id);
  tx.put(routerGuardKey(routerId), fip.id);
  return { port_id: port.id, fixed_ip_address: chosen.ip_address, router_id: routerId };
}

/** Drop the association's index key and touch its router's guard. */
function release(tx: Tx, fip: Association & { id: string }): void {
  if (fip.port_id === null || fip.fixed_ip_address === null) return;
  tx.delete(floatingIpAssocKey(fip.port_id, fip.fixed_ip_address));
  if (fip.router_id !== null) tx.put(routerGuardKey(fip.router_id), `-${fip.id}`);
}

export const floatingipsPlugin: PluginFactory = (env) => {
  // Floating IPs have no name in Neutron.
  const attributes = Object.fromEntries(Object.entries(standardAttributes()).filter(([k]) => k !== 'name'));
  const plugin: ResourcePlugin<FloatingIpRecord> = {
    collection: 'floatingips',
    member: 'floatingip',
    prefix: FLOATINGIPS_PREFIX,
    taggable: true,
    internalFields: ['name', 'floating_port_id', 'subnet_id', 'key'],
    attributes: {
      ...attributes,
      floating_network_id: { allowPost: true, allowPut: false, required: true, convert: uuid },
      floating_ip_address: { allowPost: true, allowPut: false, convert: ipAddress, adminOnlyWrite: true },
      subnet_id: { allowPost: true, allowPut: false, convert: nullable(uuid) },
      port_id: { allowPost: true, allowPut: true, default: null, convert: nullable(uuid) },
      fixed_ip_address: { allowPost: true, allowPut: true, convert: nullable(ipAddress) },
      router_id: { allowPost: false, allowPut: false },
      status: { allowPost: false, allowPut: false },
    },
    notFound: (id) => new FloatingIPNotFound(id),

    async create(tx, ctx, input, base): Promise<FloatingIpRecord> {
      const net = await loadNetwork(tx, ctx, input.floating_network_id as string);
      if (!net['router:external']) throw new ResourceBadRequest('floatingip', `Network ${net.id} is not a valid external network`);
      const portId = input.port_id as string | null;
      const fixedIp = input.fixed_ip_address as string | null | undefined;
      if (portId === null && fixedIp !== undefined && fixedIp !== null) throw new ResourceBadRequest('floatingip', 'fixed_ip_address cannot be specified without a port_id');
      const v4 = (await subnetsOfNetwork(tx, net.id)).filter((s) => s.ip_version === 4);
      const address = input.floating_ip_address as string | undefined;
      const subnetId = (input.subnet_id as string | null | undefined) ?? undefined;
      let fixedIps: { subnet_id?: string; ip_address?: string }[];
      if (address !== undefined) {
        if (parseIp(address)!.version !== 4) throw new ResourceBadRequest('floatingip', `Floating IP ${address} is not an IPv4 address`);
        fixedIps = [{ ip_address: address, ...(subnetId ? { subnet_id: subnetId } : {}) }];
      } else if (subnetId !== undefined) {
        const s = v4.find((x) => x.id === subnetId);
        if (!s) throw new ResourceBadRequest('floatingip', `Subnet ${subnetId} is not an IPv4 subnet of network ${net.id}`);
        fixedIps = [{ subnet_id: s.id }];
      } else {
        if (v4.length === 0) throw new ResourceBadRequest('floatingip', `Network ${net.id} does not contain any IPv4 subnet`);
        let pick: SubnetRecord | undefined;
        for (const s of v4) if ((await freeInPools(tx, s)) > 0n) { pick = s; break; }
        if (!pick) throw new IpAddressGenerationFailure(net.id);
        fixedIps = [{ subnet_id: pick.id }];
      }
      const port = await createInternalPort(env, tx, { networkId: net.id, projectId: '', deviceId: base.id, deviceOwner: DEVICE_OWNER_FLOATINGIP, fixedIps });
      const f = port.fixed_ips[0];
      const assoc = portId === null ? NONE : await associate(tx, ctx, { id: base.id, project_id: base.project_id, floating_network_id: net.id }, portId, fixedIp ?? undefined);
      return {
        ...base,
        floating_network_id: net.id,
        floating_ip_address: f.ip_address,
        subnet_id: f.subnet_id,
        ...assoc,
        status: 'DOWN',
        floating_port_id: port.id,
        key: port.key,
      };
    },

    async update(tx, ctx, current, changes): Promise<FloatingIpRecord> {
      // An empty update clears the association (the floating IP's original API; Neutron keeps it).
      if (Object.keys(changes).length === 0) changes = { port_id: null };
      const next: Record<string, unknown> = { ...current };
      if (changes.description !== undefined) next.description = changes.description;
      const fixedIp = changes.fixed_ip_address as string | null | undefined;
      if (changes.port_id === undefined) {
        if (fixedIp !== undefined && fixedIp !== null) {
          if (current.port_id === null) throw new ResourceBadRequest('floatingip', 'fixed_ip_address cannot be specified without a port_id');
          changes = { ...changes, port_id: current.port_id };
        } else {
          return next as unknown as FloatingIpRecord;
        }
      }
      const portId = changes.port_id as string | null;
      if (portId === null) {
        if (fixedIp !== undefined && fixedIp !== null) throw new ResourceBadRequest('floatingip', 'fixed_ip_address cannot be specified without a port_id');
        release(tx, current);
        return { ...(next as unknown as FloatingIpRecord), ...NONE, status: 'DOWN' };
      }
      const assoc = await associate(tx, ctx, current, portId, fixedIp ?? undefined);
      if (assoc.port_id === current.port_id && assoc.fixed_ip_address === current.fixed_ip_address && assoc.router_id === current.router_id) {
        return next as unknown as FloatingIpRecord;
      }
      if (current.port_id !== assoc.port_id || current.fixed_ip_address !== assoc.fixed_ip_address) release(tx, current);
      return { ...(next as unknown as FloatingIpRecord), ...assoc, status: 'DOWN' };
    },

    async delete(tx, _ctx, f): Promise<void> {
      release(tx, f);
      const port = await tx.getJson<PortRecord>(resourceKey('ports', f.floating_port_id));
      if (port) await deleteInternalPort(env, tx, port.value);
    },
  };

  // A port going away, or losing the associated address, takes its floating IPs' association.
  const disassociate = async (tx: Tx, port: PortRecord, keep: readonly string[]): Promise<void> => {
    for (const f of port.fixed_ips) {
      if (keep.includes(f.ip_address)) continue;
      const held = await tx.get(floatingIpAssocKey(port.id, f.ip_address));
      if (!held) continue;
      const got = await tx.getJson<FloatingIpRecord>(resourceKey('floatingips', held.value));
      if (!got) continue;
      const fip = got.value;
      release(tx, fip);
      tx.putJson(resourceKey('floatingips', fip.id), { ...fip, ...NONE, status: 'DOWN', revision_number: fip.revision_number + 1, updated_at: timestamp() });
    }
  };
  addHook(env.hooks, 'beforeDelete', 'ports', (tx, _ctx, rec) => disassociate(tx, rec as PortRecord, []));
  // Deleting an external network deletes its unassociated floating IPs (Neutron's
  // delete_disassociated_floatingips); an associated one needs a router gateway there, whose
  // port makes the network delete fail with NetworkInUse.
  addHook(env.hooks, 'beforeDelete', 'networks', async (tx, _ctx, rec) => {
    const fips = (await tx.rangeJson<FloatingIpRecord>(FLOATINGIPS_PREFIX, { guard: true })).filter((f) => f.floating_network_id === rec.id && f.port_id === null);
    for (const f of fips) {
      await plugin.delete(tx, internalContext(f.project_id), f);
      tx.delete(resourceKey('floatingips', f.id));
    }
  });
  addHook(env.hooks, 'beforeUpdate', 'ports', (tx, _ctx, cur, next) => disassociate(tx, cur as PortRecord, (next as PortRecord).fixed_ips.map((f) => f.ip_address)));

  return plugin as unknown as ResourcePlugin<StandardRecord>;
};
