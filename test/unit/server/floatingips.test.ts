import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { floatingIpAssocKey, PORTS_PREFIX, resourceKey } from '../../../src/model/keys.js';
import type { FloatingIpRecord, PortRecord } from '../../../src/model/records.js';
import { CORE_PLUGINS } from '../../../src/server/resources/index.js';
import { expectFault, netWithSubnet, startApi, type Harness, type Json } from './helpers.js';

let h: Harness;
let ext: { net: string; subnet: string };
let inner: { net: string; subnet: string };
let routerId: string;
const P1 = { project: 'p1' };
/**
 * Addresses are allocated at random from the pools, so the pools here leave out the addresses
 * the tests name: the external /28 hands out .2–.13 (EXT_FREE is never allocated), the inner
 * /24 .2–.99 (INNER_FREE and INNER_OTHER are held by no port unless a test gives them).
 */
const EXT_POOL = { start: '203.0.113.2', end: '203.0.113.13' };
const EXT_FREE = '203.0.113.14';
const INNER_POOL = { start: '10.0.0.2', end: '10.0.0.99' };
const INNER_FREE = '10.0.0.200';
const INNER_OTHER = '10.0.0.177';

async function dump(): Promise<string> {
  return JSON.stringify((await h.store.range('/')).kvs.map((kv) => [kv.key, kv.value, kv.modRevision]));
}

async function allPorts(): Promise<PortRecord[]> {
  return (await h.store.range(PORTS_PREFIX)).kvs.map((kv) => JSON.parse(kv.value) as PortRecord);
}

beforeEach(async () => {
  h = await startApi({ plugins: CORE_PLUGINS });
  const n = await h.req('POST', '/v2.0/networks', { network: { name: 'public', 'router:external': true } }, { admin: true });
  const s = await h.req('POST', '/v2.0/subnets', { subnet: { network_id: n.body.network.id, ip_version: 4, cidr: '203.0.113.0/28', allocation_pools: [EXT_POOL] } }, { admin: true });
  ext = { net: n.body.network.id, subnet: s.body.subnet.id };
  inner = await netWithSubnet(h, '10.0.0.0/24', P1, { allocation_pools: [INNER_POOL] });
  const r = await h.req('POST', '/v2.0/routers', { router: { name: 'r', external_gateway_info: { network_id: ext.net } } }, P1);
  routerId = r.body.router.id;
  expect((await h.req('PUT', `/v2.0/routers/${routerId}/add_router_interface`, { subnet_id: inner.subnet }, P1)).status).toBe(200);
});
afterEach(() => h.close());

async function vmPort(extra: Record<string, unknown> = {}): Promise<Json> {
  const r = await h.req('POST', '/v2.0/ports', { port: { network_id: inner.net, device_owner: 'compute:nova', device_id: 'vm', ...extra } }, P1);
  if (r.status !== 201) throw new Error(JSON.stringify(r));
  return r.body.port;
}

describe('floating IPs', () => {
  it('deleting an external network deletes its unassociated floating IPs; an associated one keeps it in use', async () => {
    const other = await h.req('POST', '/v2.0/networks', { network: { name: 'public2', 'router:external': true } }, { admin: true });
    await h.req('POST', '/v2.0/subnets', { subnet: { network_id: other.body.network.id, ip_version: 4, cidr: '198.51.100.0/28', enable_dhcp: false } }, { admin: true });
    const f = (await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: other.body.network.id } }, { admin: true })).body.floatingip;
    expect((await h.req('DELETE', `/v2.0/networks/${other.body.network.id}`, undefined, { admin: true })).status).toBe(204);
    expectFault(await h.req('GET', `/v2.0/floatingips/${f.id}`, undefined, { admin: true }), 404, 'FloatingIPNotFound');
    expect((await allPorts()).filter((p) => p.network_id === other.body.network.id)).toEqual([]);
    expect((await h.store.range('/ipam/ip/')).kvs.some((kv) => kv.value === f.id)).toBe(false);
    // On the network with a router gateway and an associated floating IP: NetworkInUse, nothing changes.
    const vm = await vmPort();
    await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, port_id: vm.id } }, P1);
    const before = await dump();
    expectFault(await h.req('DELETE', `/v2.0/networks/${ext.net}`, undefined, { admin: true }), 409, 'NetworkInUse');
    expect(await dump()).toBe(before);
  });

  it('create allocates from the external subnet through a network:floatingip port; delete frees it', async () => {
    const r = await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, description: 'd' } }, P1);
    expect(r.status).toBe(201);
    const f = r.body.floatingip;
    expect(f).toMatchObject({ floating_network_id: ext.net, port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', description: 'd', project_id: 'p1', tenant_id: 'p1', revision_number: 0, tags: [] });
    expect(f.floating_ip_address).toMatch(/^203\.0\.113\.\d+$/);
    expect(f.name).toBeUndefined();
    expect(f.floating_port_id).toBeUndefined();
    const rec = JSON.parse((await h.store.get(resourceKey('floatingips', f.id)))!.value) as FloatingIpRecord;
    const port = (await allPorts()).find((p) => p.id === rec.floating_port_id)!;
    expect(port).toMatchObject({ device_owner: 'network:floatingip', device_id: f.id, network_id: ext.net, project_id: '', fixed_ips: [{ subnet_id: ext.subnet, ip_address: f.floating_ip_address }] });
    expectFault(await h.req('DELETE', `/v2.0/ports/${port.id}`, undefined, { admin: true }), 409, 'ServicePortInUse');
    expect((await h.req('GET', '/v2.0/floatingips', undefined, { project: 'p2' })).body.floatingips).toEqual([]);
    expect((await h.req('GET', `/v2.0/floatingips?floating_ip_address=${f.floating_ip_address}`, undefined, P1)).body.floatingips).toHaveLength(1);
    expect((await h.req('DELETE', `/v2.0/floatingips/${f.id}`, undefined, P1)).status).toBe(204);
    expect((await allPorts()).some((p) => p.id === port.id)).toBe(false);
    expectFault(await h.req('GET', `/v2.0/floatingips/${f.id}`, undefined, P1), 404, 'FloatingIPNotFound');
  });

  it('create errors: not external, unknown network, explicit address admin only and in use, exhaustion', async () => {
    const before = await dump();
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: inner.net } }, P1), 400, 'BadRequest');
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: '00000000-0000-0000-0000-000000000000' } }, P1), 404, 'NetworkNotFound');
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, floating_ip_address: EXT_FREE } }, P1), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: {} }, P1), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, router_id: routerId } }, P1), 400, 'HTTPBadRequest');
    expect(await dump()).toBe(before);
    const router = (await h.req('GET', `/v2.0/routers/${routerId}`, undefined, P1)).body.router;
    const gatewayIp = router.external_gateway_info.external_fixed_ips[0].ip_address as string;
    const wanted = EXT_FREE;
    const explicit = await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, floating_ip_address: wanted, project_id: 'p1' } }, { admin: true });
    expect(explicit.body.floatingip).toMatchObject({ floating_ip_address: wanted, project_id: 'p1' });
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, floating_ip_address: wanted } }, { admin: true }), 409, 'IpAddressInUse');
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, floating_ip_address: gatewayIp } }, { admin: true }), 409, 'IpAddressInUse');
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, floating_ip_address: '198.51.100.9' } }, { admin: true }), 400, 'InvalidIpForNetwork');
    // The pool .2-.13 = 12 addresses; the router gateway holds one (`wanted` is outside it).
    for (let i = 0; i < 11; i++) expect((await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net } }, P1)).status).toBe(201);
    const full = await dump();
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net } }, P1), 409, 'IpAddressGenerationFailure');
    expect(await dump()).toBe(full);
  });

  it('associate: router derived, fixed IP defaults to the first IPv4, one floating IP per address, disassociate', async () => {
    const vm = await vmPort();
    const f = (await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, port_id: vm.id } }, P1)).body.floatingip;
    expect(f).toMatchObject({ port_id: vm.id, fixed_ip_address: vm.fixed_ips[0].ip_address, router_id: routerId, status: 'DOWN' });
    expect((await h.store.get(floatingIpAssocKey(vm.id, vm.fixed_ips[0].ip_address)))!.value).toBe(f.id);
    const g = (await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net } }, P1)).body.floatingip;
    const before = await dump();
    expectFault(await h.req('PUT', `/v2.0/floatingips/${g.id}`, { floatingip: { port_id: vm.id } }, P1), 409, 'FloatingIPPortAlreadyAssociated');
    expectFault(await h.req('PUT', `/v2.0/floatingips/${g.id}`, { floatingip: { port_id: vm.id, fixed_ip_address: INNER_FREE } }, P1), 400, 'BadRequest');
    expectFault(await h.req('PUT', `/v2.0/floatingips/${g.id}`, { floatingip: { fixed_ip_address: INNER_FREE } }, P1), 400, 'BadRequest');
    expectFault(await h.req('PUT', `/v2.0/floatingips/${g.id}`, { floatingip: { port_id: '00000000-0000-0000-0000-000000000000' } }, P1), 404, 'PortNotFound');
    expect(await dump()).toBe(before);
    // Disassociate, then the other one can take the address.
    const d = await h.req('PUT', `/v2.0/floatingips/${f.id}`, { floatingip: { port_id: null } }, P1);
    expect(d.body.floatingip).toMatchObject({ port_id: null, fixed_ip_address: null, router_id: null, revision_number: 2 - 1 });
    expect(await h.store.get(floatingIpAssocKey(vm.id, vm.fixed_ips[0].ip_address))).toBeUndefined();
    const a = await h.req('PUT', `/v2.0/floatingips/${g.id}`, { floatingip: { port_id: vm.id, fixed_ip_address: vm.fixed_ips[0].ip_address } }, P1);
    expect(a.body.floatingip).toMatchObject({ port_id: vm.id, router_id: routerId });
    // Move to another port: the old association key is released.
    const vm2 = await vmPort();
    const m = await h.req('PUT', `/v2.0/floatingips/${g.id}`, { floatingip: { port_id: vm2.id } }, P1);
    expect(m.body.floatingip).toMatchObject({ port_id: vm2.id, fixed_ip_address: vm2.fixed_ips[0].ip_address });
    expect(await h.store.get(floatingIpAssocKey(vm.id, vm.fixed_ips[0].ip_address))).toBeUndefined();
    // Description-only update keeps the association.
    expect((await h.req('PUT', `/v2.0/floatingips/${g.id}`, { floatingip: { description: 'x' } }, P1)).body.floatingip).toMatchObject({ port_id: vm2.id, description: 'x' });
    // An empty update disassociates (Neutron keeps the floating IP API's original meaning).
    expect((await h.req('PUT', `/v2.0/floatingips/${g.id}`, { floatingip: {} }, P1)).body.floatingip).toMatchObject({ port_id: null, fixed_ip_address: null, router_id: null, description: 'x' });
    expect(await h.store.get(floatingIpAssocKey(vm2.id, vm2.fixed_ips[0].ip_address))).toBeUndefined();
  });

  it('ExternalGatewayForFloatingIPNotFound when the port subnet is not routed to the floating network', async () => {
    const other = await netWithSubnet(h, '10.9.0.0/24', P1);
    const p = (await h.req('POST', '/v2.0/ports', { port: { network_id: other.net } }, P1)).body.port;
    const before = await dump();
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, port_id: p.id } }, P1), 404, 'ExternalGatewayForFloatingIPNotFound');
    expect(await dump()).toBe(before);
    // Attached to a router without a gateway: still not reachable.
    const r2 = (await h.req('POST', '/v2.0/routers', { router: {} }, P1)).body.router;
    await h.req('PUT', `/v2.0/routers/${r2.id}/add_router_interface`, { subnet_id: other.subnet }, P1);
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, port_id: p.id } }, P1), 404, 'ExternalGatewayForFloatingIPNotFound');
    // Another project's port is not found.
    const q = (await h.req('POST', '/v2.0/ports', { port: { network_id: inner.net } }, P1)).body.port;
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, port_id: q.id } }, { project: 'p2' }), 404, 'PortNotFound');
    // A port without IPv4.
    const none = await vmPort({ fixed_ips: [] });
    expectFault(await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, port_id: none.id } }, P1), 400, 'BadRequest');
  });

  it('the interface, the gateway and the router are needed while a floating IP is associated', async () => {
    const vm = await vmPort();
    const f = (await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, port_id: vm.id } }, P1)).body.floatingip;
    const before = await dump();
    expectFault(await h.req('PUT', `/v2.0/routers/${routerId}/remove_router_interface`, { subnet_id: inner.subnet }, P1), 409, 'RouterInterfaceInUseByFloatingIP');
    expectFault(await h.req('PUT', `/v2.0/routers/${routerId}`, { router: { external_gateway_info: {} } }, P1), 409, 'RouterExternalGatewayInUseByFloatingIp');
    expectFault(await h.req('DELETE', `/v2.0/routers/${routerId}`, undefined, P1), 409, 'RouterInUse');
    expectFault(await h.req('DELETE', `/v2.0/networks/${ext.net}`, undefined, { admin: true }), 409, 'NetworkInUse');
    expect(await dump()).toBe(before);
    await h.req('PUT', `/v2.0/floatingips/${f.id}`, { floatingip: { port_id: null } }, P1);
    expect((await h.req('PUT', `/v2.0/routers/${routerId}/remove_router_interface`, { subnet_id: inner.subnet }, P1)).status).toBe(200);
  });

  it('deleting the port, or removing the address from it, disassociates', async () => {
    const vm = await vmPort();
    const f = (await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net, port_id: vm.id } }, P1)).body.floatingip;
    expect((await h.req('DELETE', `/v2.0/ports/${vm.id}`, undefined, P1)).status).toBe(204);
    expect((await h.req('GET', `/v2.0/floatingips/${f.id}`, undefined, P1)).body.floatingip).toMatchObject({ port_id: null, fixed_ip_address: null, router_id: null });
    const vm2 = await vmPort();
    await h.req('PUT', `/v2.0/floatingips/${f.id}`, { floatingip: { port_id: vm2.id } }, P1);
    const u = await h.req('PUT', `/v2.0/ports/${vm2.id}`, { port: { fixed_ips: [{ ip_address: INNER_OTHER }] } }, P1);
    expect(u.status).toBe(200);
    expect((await h.req('GET', `/v2.0/floatingips/${f.id}`, undefined, P1)).body.floatingip).toMatchObject({ port_id: null });
    expect(await h.store.get(floatingIpAssocKey(vm2.id, vm2.fixed_ips[0].ip_address))).toBeUndefined();
  });

  it('concurrent association of two floating IPs to one port: exactly one wins', async () => {
    const vm = await vmPort();
    const fs = await Promise.all(Array.from({ length: 5 }, async () => (await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net } }, P1)).body.floatingip));
    const res = await Promise.all(fs.map((f) => h.req('PUT', `/v2.0/floatingips/${f.id}`, { floatingip: { port_id: vm.id } }, P1)));
    expect(res.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of res.filter((x) => x.status !== 200)) expectFault(r, 409, 'FloatingIPPortAlreadyAssociated');
  });

  it('association racing interface removal: never a floating IP through a removed interface', async () => {
    for (let round = 0; round < 4; round++) {
      if (round > 0) expect((await h.req('PUT', `/v2.0/routers/${routerId}/add_router_interface`, { subnet_id: inner.subnet }, P1)).status).toBe(200);
      const vm = await vmPort();
      const f = (await h.req('POST', '/v2.0/floatingips', { floatingip: { floating_network_id: ext.net } }, P1)).body.floatingip;
      const [assoc, removed] = await Promise.all([
        h.req('PUT', `/v2.0/floatingips/${f.id}`, { floatingip: { port_id: vm.id } }, P1),
        h.req('PUT', `/v2.0/routers/${routerId}/remove_router_interface`, { subnet_id: inner.subnet }, P1),
      ]);
      const ifaces = (await allPorts()).filter((p) => p.device_id === routerId && p.device_owner === 'network:router_interface_distributed');
      if (assoc.status === 200) {
        expectFault(removed, 409, 'RouterInterfaceInUseByFloatingIP');
        expect(ifaces).toHaveLength(1);
        await h.req('PUT', `/v2.0/floatingips/${f.id}`, { floatingip: { port_id: null } }, P1);
        expect((await h.req('PUT', `/v2.0/routers/${routerId}/remove_router_interface`, { subnet_id: inner.subnet }, P1)).status).toBe(200);
      } else {
        expectFault(assoc, 404, 'ExternalGatewayForFloatingIPNotFound');
        expect(removed.status).toBe(200);
        expect(ifaces).toHaveLength(0);
      }
      await h.req('DELETE', `/v2.0/floatingips/${f.id}`, undefined, P1);
      await h.req('DELETE', `/v2.0/ports/${vm.id}`, undefined, P1);
    }
  });

  it('interface add racing subnet delete: either the interface exists or the subnet is gone', async () => {
    for (let round = 0; round < 4; round++) {
      const s = await h.req('POST', '/v2.0/subnets', { subnet: { network_id: inner.net, ip_version: 4, cidr: `10.${10 + round}.0.0/24` } }, P1);
      const sid = s.body.subnet.id;
      const [add, del] = await Promise.all([
        h.req('PUT', `/v2.0/routers/${routerId}/add_router_interface`, { subnet_id: sid }, P1),
        h.req('DELETE', `/v2.0/subnets/${sid}`, undefined, P1),
      ]);
      const orphan = (await allPorts()).filter((p) => p.fixed_ips.some((x) => x.subnet_id === sid));
      if (add.status === 200) {
        expectFault(del, 409, 'SubnetInUse');
        expect(orphan).toHaveLength(1);
        await h.req('PUT', `/v2.0/routers/${routerId}/remove_router_interface`, { subnet_id: sid }, P1);
      } else {
        expect(del.status).toBe(204);
        expectFault(add, 404, 'SubnetNotFound');
        expect(orphan).toHaveLength(0);
      }
    }
  });
});
