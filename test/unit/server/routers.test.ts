import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PORTS_PREFIX, resourceKey, routerKeyKey } from '../../../src/model/keys.js';
import type { PortRecord, RouterRecord } from '../../../src/model/records.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CORE_PLUGINS } from '../../../src/server/resources/index.js';
import { openStore } from '../../../src/store/open.js';
import { expectFault, netWithSubnet, startApi, type Harness, type Json } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startApi({ plugins: CORE_PLUGINS });
});
afterEach(() => h.close());

/** Every key and value in the store (compare before/after a failed request). */
export async function dump(hh: Harness): Promise<string> {
  const r = await hh.store.range('/');
  return JSON.stringify(r.kvs.map((kv) => [kv.key, kv.value, kv.modRevision]));
}

async function externalNet(hh: Harness, cidr = '203.0.113.0/24'): Promise<{ net: string; subnet: string }> {
  const n = await hh.req('POST', '/v2.0/networks', { network: { name: 'public', 'router:external': true } }, { admin: true });
  const s = await hh.req('POST', '/v2.0/subnets', { subnet: { network_id: n.body.network.id, ip_version: 4, cidr } }, { admin: true });
  return { net: n.body.network.id, subnet: s.body.subnet.id };
}

async function router(hh: Harness, body: Record<string, unknown> = {}, as: { project?: string; admin?: boolean } = {}): Promise<Json> {
  const r = await hh.req('POST', '/v2.0/routers', { router: { name: 'r', ...body } }, as);
  if (r.status !== 201) throw new Error(JSON.stringify(r));
  return r.body.router;
}

async function record<T>(hh: Harness, collection: string, id: string): Promise<T> {
  return JSON.parse((await hh.store.get(resourceKey(collection, id)))!.value) as T;
}

async function ports(hh: Harness): Promise<PortRecord[]> {
  return (await hh.store.range(PORTS_PREFIX)).kvs.map((kv) => JSON.parse(kv.value) as PortRecord);
}

describe('routers', () => {
  it('create: Neutron defaults, distributed, key stored and released on delete', async () => {
    const r = await router(h);
    expect(r).toMatchObject({ name: 'r', admin_state_up: true, status: 'ACTIVE', distributed: true, external_gateway_info: null, routes: [], revision_number: 0, tags: [] });
    expect(r.key).toBeUndefined();
    expect(r.gw_port_id).toBeUndefined();
    const rec = await record<RouterRecord>(h, 'routers', r.id);
    expect(rec.key).toBeGreaterThanOrEqual(1);
    expect((await h.store.get(routerKeyKey(rec.key)))!.value).toBe(r.id);
    const r2 = await router(h);
    expect((await record<RouterRecord>(h, 'routers', r2.id)).key).not.toBe(rec.key);
    const centralized = await h.req('POST', '/v2.0/routers', { router: { distributed: false } });
    expectFault(centralized, 400, 'InvalidInput');
    expect(centralized.body.NeutronError.message).toMatch(/distributed=false .* not supported/);
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { distributed: false } }), 400, 'InvalidInput');
    expect((await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { distributed: true } })).body.router.distributed).toBe(true);
    expectFault(await h.req('POST', '/v2.0/routers', { router: { distributed: true } }, { project: 'p1' }), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('POST', '/v2.0/routers', { router: { routes: [] } }), 400, 'HTTPBadRequest');
    expect((await h.req('DELETE', `/v2.0/routers/${r.id}`)).status).toBe(204);
    expect(await h.store.get(routerKeyKey(rec.key))).toBeUndefined();
    expectFault(await h.req('GET', `/v2.0/routers/${r.id}`), 404, 'RouterNotFound');
    const ext = (await h.req('GET', '/v2.0/extensions')).body.extensions.map((e: Json) => e.alias);
    expect(ext).toEqual(expect.arrayContaining(['router', 'extraroute', 'extraroute-atomic', 'ext-gw-mode', 'security-group']));
    // Every router is distributed: choosing (the dvr extension) and HA are not offered.
    expect(ext).not.toContain('l3-ha');
    expect(ext).not.toContain('dvr');
  });

  it('add_router_interface by subnet: gateway IP port, Neutron response, errors change nothing', async () => {
    const a = await netWithSubnet(h, '10.0.0.0/24');
    const r = await router(h);
    const res = await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: a.subnet });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: r.id, subnet_id: a.subnet, subnet_ids: [a.subnet], network_id: a.net, tenant_id: 'admin', project_id: 'admin' });
    const port = (await h.req('GET', `/v2.0/ports/${res.body.port_id}`)).body.port;
    expect(port).toMatchObject({ device_owner: 'network:router_interface_distributed', device_id: r.id, fixed_ips: [{ subnet_id: a.subnet, ip_address: '10.0.0.1' }], security_groups: [], port_security_enabled: false, status: 'DOWN' });
    expect((await h.req('GET', `/v2.0/routers/${r.id}`)).body.router.revision_number).toBe(1);
    // Listing the router's interfaces as clients do.
    const listed = (await h.req('GET', `/v2.0/ports?device_id=${r.id}&device_owner=network:router_interface_distributed`)).body.ports;
    expect(listed.map((p: Json) => p.id)).toEqual([res.body.port_id]);

    const before = await dump(h);
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: a.subnet }), 400, 'BadRequest');
    const overlap = await netWithSubnet(h, '10.0.0.128/25');
    const noGw = await netWithSubnet(h, '10.1.0.0/24', {}, { gateway_ip: null });
    const before2 = await dump(h);
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: overlap.subnet }), 400, 'BadRequest');
    expect(await dump(h)).toBe(before2);
    void before;
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: noGw.subnet }), 400, 'BadRequest');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, {}), 400, 'BadRequest');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: a.subnet, port_id: a.subnet }), 400, 'BadRequest');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: 'nope' }), 400, 'HTTPBadRequest');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: '00000000-0000-0000-0000-000000000000' }), 404, 'SubnetNotFound');
    expectFault(await h.req('PUT', `/v2.0/routers/00000000-0000-0000-0000-000000000000/add_router_interface`, { subnet_id: a.subnet }), 404, 'RouterNotFound');
    expectFault(await h.req('POST', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: a.subnet }), 405, 'HTTPMethodNotAllowed');
    expect(await dump(h)).toBe(before2);
    // The same subnet on a second router: its gateway address is taken.
    const r2 = await router(h);
    const before3 = await dump(h);
    expectFault(await h.req('PUT', `/v2.0/routers/${r2.id}/add_router_interface`, { subnet_id: a.subnet }), 409, 'IpAddressInUse');
    expect(await dump(h)).toBe(before3);
  });

  it('interfaces block router, subnet and network delete; ports cannot be deleted directly', async () => {
    const a = await netWithSubnet(h, '10.0.0.0/24');
    const r = await router(h);
    const res = await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: a.subnet });
    const before = await dump(h);
    expectFault(await h.req('DELETE', `/v2.0/routers/${r.id}`), 409, 'RouterInUse');
    expectFault(await h.req('DELETE', `/v2.0/subnets/${a.subnet}`), 409, 'SubnetInUse');
    expectFault(await h.req('DELETE', `/v2.0/networks/${a.net}`), 409, 'NetworkInUse');
    expectFault(await h.req('DELETE', `/v2.0/ports/${res.body.port_id}`), 409, 'ServicePortInUse');
    expect(await dump(h)).toBe(before);
    const rm = await h.req('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { subnet_id: a.subnet });
    expect(rm.status).toBe(200);
    expect(rm.body).toMatchObject({ id: r.id, port_id: res.body.port_id, subnet_id: a.subnet });
    expectFault(await h.req('GET', `/v2.0/ports/${res.body.port_id}`), 404, 'PortNotFound');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { subnet_id: a.subnet }), 404, 'RouterInterfaceNotFoundForSubnet');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { port_id: res.body.port_id }), 404, 'RouterInterfaceNotFound');
    expect((await h.req('DELETE', `/v2.0/routers/${r.id}`)).status).toBe(204);
    expect((await h.req('DELETE', `/v2.0/networks/${a.net}`)).status).toBe(204);
    expect(await ports(h)).toEqual([]);
  });

  it("a router's ports keep owner and addresses; the subnet gateway held by an interface stays", async () => {
    const a = await netWithSubnet(h, '10.0.0.0/24');
    const r = await router(h);
    const res = await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: a.subnet });
    const before = await dump(h);
    expectFault(await h.req('PUT', `/v2.0/ports/${res.body.port_id}`, { port: { device_id: '' } }), 409, 'PortInUse');
    expectFault(await h.req('PUT', `/v2.0/ports/${res.body.port_id}`, { port: { fixed_ips: [{ ip_address: '10.0.0.9' }] } }), 409, 'PortInUse');
    expectFault(await h.req('PUT', `/v2.0/subnets/${a.subnet}`, { subnet: { gateway_ip: '10.0.0.254', allocation_pools: [{ start: '10.0.0.2', end: '10.0.0.200' }] } }), 409, 'GatewayIpInUse');
    expect(await dump(h)).toBe(before);
    expect((await h.req('PUT', `/v2.0/ports/${res.body.port_id}`, { port: { name: 'ok' } })).status).toBe(200);
    expect((await h.req('PUT', `/v2.0/subnets/${a.subnet}`, { subnet: { name: 'ok' } })).status).toBe(200);
  });

  it('add_router_interface by port: unowned, one fixed IP; remove by port deletes it', async () => {
    const a = await netWithSubnet(h, '10.0.0.0/24');
    const r = await router(h);
    const p = (await h.req('POST', '/v2.0/ports', { port: { network_id: a.net, fixed_ips: [{ ip_address: '10.0.0.254' }] } })).body.port;
    const owned = (await h.req('POST', '/v2.0/ports', { port: { network_id: a.net, device_id: 'vm', device_owner: 'compute:nova' } })).body.port;
    const two = (await h.req('POST', '/v2.0/ports', { port: { network_id: a.net, fixed_ips: [{ subnet_id: a.subnet }, { subnet_id: a.subnet }] } })).body.port;
    const none = (await h.req('POST', '/v2.0/ports', { port: { network_id: a.net, fixed_ips: [] } })).body.port;
    const before = await dump(h);
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { port_id: owned.id }), 409, 'PortInUse');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { port_id: two.id }), 400, 'BadRequest');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { port_id: none.id }), 400, 'BadRequest');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { port_id: '00000000-0000-0000-0000-000000000000' }), 404, 'PortNotFound');
    expect(await dump(h)).toBe(before);
    const res = await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { port_id: p.id });
    expect(res.body).toMatchObject({ id: r.id, port_id: p.id, subnet_id: a.subnet, network_id: a.net });
    expect((await h.req('GET', `/v2.0/ports/${p.id}`)).body.port).toMatchObject({ device_id: r.id, device_owner: 'network:router_interface_distributed', revision_number: 1 });
    expect((await h.req('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { port_id: p.id })).status).toBe(200);
    expectFault(await h.req('GET', `/v2.0/ports/${p.id}`), 404, 'PortNotFound');
  });

  it('other projects: invisible routers, subnets and ports', async () => {
    const r = await router(h, {}, { project: 'p1' });
    expect(r.project_id).toBe('p1');
    expectFault(await h.req('GET', `/v2.0/routers/${r.id}`, undefined, { project: 'p2' }), 404, 'RouterNotFound');
    expect((await h.req('GET', '/v2.0/routers', undefined, { project: 'p2' })).body.routers).toEqual([]);
    expect((await h.req('GET', '/v2.0/routers')).body.routers).toHaveLength(1);
    const b = await netWithSubnet(h, '10.2.0.0/24', { project: 'p2' });
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: b.subnet }, { project: 'p1' }), 404, 'SubnetNotFound');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: b.subnet }, { project: 'p2' }), 404, 'RouterNotFound');
    const p = (await h.req('POST', '/v2.0/ports', { port: { network_id: b.net } }, { project: 'p2' })).body.port;
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { port_id: p.id }, { project: 'p1' }), 404, 'PortNotFound');
  });

  it('external gateway: port on the external network, enable_snat, change and clear', async () => {
    const ext = await externalNet(h);
    const ext2 = await externalNet(h, '198.51.100.0/24');
    const r = await router(h, { external_gateway_info: { network_id: ext.net } }, { project: 'p1' });
    expect(r.external_gateway_info).toMatchObject({ network_id: ext.net, enable_snat: true });
    expect(r.external_gateway_info.external_fixed_ips).toHaveLength(1);
    expect(r.external_gateway_info.external_fixed_ips[0].subnet_id).toBe(ext.subnet);
    const gw = (await ports(h)).filter((p) => p.device_owner === 'network:router_gateway');
    expect(gw).toHaveLength(1);
    expect(gw[0]).toMatchObject({ device_id: r.id, network_id: ext.net, project_id: '', fixed_ips: r.external_gateway_info.external_fixed_ips });
    expect((await record<RouterRecord>(h, 'routers', r.id)).gw_port_id).toBe(gw[0].id);
    // The tenant does not see the gateway port; admin does.
    expect((await h.req('GET', '/v2.0/ports', undefined, { project: 'p1' })).body.ports).toEqual([]);
    // enable_snat and explicit addresses are admin only (Neutron's policy).
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.net, enable_snat: false } } }, { project: 'p1' }), 403, 'PolicyNotAuthorized');
    const u = await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.net, enable_snat: false } } }, { admin: true });
    expect(u.body.router.external_gateway_info).toMatchObject({ network_id: ext.net, enable_snat: false, external_fixed_ips: r.external_gateway_info.external_fixed_ips });
    const fixed = await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.net, external_fixed_ips: [{ ip_address: '203.0.113.77' }] } } }, { admin: true });
    expect(fixed.body.router.external_gateway_info).toMatchObject({ enable_snat: true, external_fixed_ips: [{ subnet_id: ext.subnet, ip_address: '203.0.113.77' }] });
    // Move to another external network: old port gone, new one made.
    const moved = await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext2.net } } }, { project: 'p1' });
    expect(moved.body.router.external_gateway_info.network_id).toBe(ext2.net);
    const gws = (await ports(h)).filter((p) => p.device_owner === 'network:router_gateway');
    expect(gws.map((p) => p.network_id)).toEqual([ext2.net]);
    // The gateway port blocks external network deletion and cannot be deleted directly.
    expectFault(await h.req('DELETE', `/v2.0/networks/${ext2.net}`, undefined, { admin: true }), 409, 'NetworkInUse');
    expectFault(await h.req('DELETE', `/v2.0/ports/${gws[0].id}`, undefined, { admin: true }), 409, 'ServicePortInUse');
    expectFault(await h.req('PUT', `/v2.0/networks/${ext2.net}`, { network: { 'router:external': false } }, { admin: true }), 409, 'ExternalNetworkInUse');
    // Errors: not external, unknown network; nothing changes.
    const own = await netWithSubnet(h, '10.0.0.0/24', { project: 'p1' });
    const before = await dump(h);
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: own.net } } }, { project: 'p1' }), 400, 'BadRequest');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: '00000000-0000-0000-0000-000000000000' } } }, { project: 'p1' }), 404, 'NetworkNotFound');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { enable_snat: true } } }, { project: 'p1' }), 400, 'HTTPBadRequest');
    expect(await dump(h)).toBe(before);
    // Clear with {} (what `openstack router unset --external-gateway` sends).
    const cleared = await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: {} } }, { project: 'p1' });
    expect(cleared.body.router.external_gateway_info).toBeNull();
    expect((await ports(h)).filter((p) => p.device_owner === 'network:router_gateway')).toEqual([]);
    // Router delete removes its gateway port.
    await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { external_gateway_info: { network_id: ext.net } } }, { project: 'p1' });
    expect((await h.req('DELETE', `/v2.0/routers/${r.id}`, undefined, { project: 'p1' })).status).toBe(204);
    expect(await ports(h)).toEqual([]);
  });

  it('router interface port: a fixed_ips update naming its subnet keeps the address; moving it is refused', async () => {
    const a = await netWithSubnet(h, '10.0.0.0/24');
    const r = await router(h);
    const port = (await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: a.subnet })).body.port_id;
    const u = await h.req('PUT', `/v2.0/ports/${port}`, { port: { fixed_ips: [{ subnet_id: a.subnet }] } });
    expect(u.status).toBe(200);
    expect(u.body.port.fixed_ips).toEqual([{ subnet_id: a.subnet, ip_address: '10.0.0.1' }]);
    expectFault(await h.req('PUT', `/v2.0/ports/${port}`, { port: { fixed_ips: [{ subnet_id: a.subnet, ip_address: '10.0.0.9' }] } }), 409, 'PortInUse');
  });

  it('routes (extraroute): nexthop must be on a router subnet; add/remove_extraroutes; interface in use by a route', async () => {
    const a = await netWithSubnet(h, '10.0.0.0/24');
    const ext = await externalNet(h);
    // The gateway's address is pinned: a random one was 203.0.113.254 (the route's nexthop) once in 253 runs.
    const r = await router(h, { external_gateway_info: { network_id: ext.net, external_fixed_ips: [{ ip_address: '203.0.113.2' }] } });
    const before = await dump(h);
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: '192.168.0.0/16', nexthop: '10.0.0.5' }] } }), 400, 'InvalidRoutes');
    expect(await dump(h)).toBe(before);
    await h.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: a.subnet });
    const ok = await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: '192.168.0.0/16', nexthop: '10.0.0.5' }, { destination: '0.0.0.0/0', nexthop: '203.0.113.254' }] } });
    expect(ok.status).toBe(200);
    expect(ok.body.router.routes).toEqual([{ destination: '192.168.0.0/16', nexthop: '10.0.0.5' }, { destination: '0.0.0.0/0', nexthop: '203.0.113.254' }]);
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: '192.168.0.0/16', nexthop: '10.0.0.1' }] } }), 400, 'InvalidRoutes');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: '192.168.0.1/16', nexthop: '10.0.0.5' }] } }), 400, 'InvalidRoutes');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: '2001:db8::/64', nexthop: '10.0.0.5' }] } }), 400, 'InvalidRoutes');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: 'x', nexthop: '10.0.0.5' }] } }), 400, 'HTTPBadRequest');
    const many = Array.from({ length: 31 }, (_, i) => ({ destination: `172.16.${i}.0/24`, nexthop: '10.0.0.5' }));
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: many } }), 400, 'RoutesExhausted');
    expectFault(await h.req('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { subnet_id: a.subnet }), 409, 'RouterInterfaceInUseByRoute');
    const added = await h.req('PUT', `/v2.0/routers/${r.id}/add_extraroutes`, { router: { routes: [{ destination: '172.16.0.0/12', nexthop: '10.0.0.6' }, { destination: '192.168.0.0/16', nexthop: '10.0.0.5' }] } });
    expect(added.body.router.routes).toHaveLength(3);
    const removed = await h.req('PUT', `/v2.0/routers/${r.id}/remove_extraroutes`, { router: { routes: [{ destination: '192.168.0.0/16', nexthop: '10.0.0.5' }, { destination: '0.0.0.0/0', nexthop: '203.0.113.254' }] } });
    expect(removed.body.router.routes).toEqual([{ destination: '172.16.0.0/12', nexthop: '10.0.0.6' }]);
    expect((await h.req('GET', `/v2.0/routers/${r.id}`)).body.router.routes).toEqual([{ destination: '172.16.0.0/12', nexthop: '10.0.0.6' }]);
    expect((await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [] } })).body.router.routes).toEqual([]);
    // `routes: null` clears them too (Neutron accepts it; tempest's cleanup sends it).
    await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: [{ destination: '172.16.0.0/12', nexthop: '10.0.0.6' }] } });
    expect((await h.req('PUT', `/v2.0/routers/${r.id}`, { router: { routes: null } })).body.router.routes).toEqual([]);
    expect((await h.req('PUT', `/v2.0/routers/${r.id}/remove_router_interface`, { subnet_id: a.subnet })).status).toBe(200);
  });
});

describe.each(['memory', 'sqlite'])('router concurrency on %s', (kind) => {
  let hh: Harness;
  let dir = '';
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-l3-'));
    hh = await startApi({ plugins: CORE_PLUGINS, store: await openStore(kind === 'memory' ? 'memory:' : `sqlite:${path.join(dir, 'nb.sqlite')}`) });
  });
  afterEach(async () => {
    await hh.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('routers racing to attach the same subnet: exactly one wins', async () => {
    const a = await netWithSubnet(hh, '10.0.0.0/24');
    const rs = await Promise.all(Array.from({ length: 6 }, () => router(hh)));
    const res = await Promise.all(rs.map((r) => hh.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: a.subnet })));
    expect(res.filter((x) => x.status === 200)).toHaveLength(1);
    for (const x of res.filter((y) => y.status !== 200)) expectFault(x, 409, 'IpAddressInUse');
    expect((await ports(hh)).filter((p) => p.device_owner === 'network:router_interface_distributed')).toHaveLength(1);
  });

  it('one router, overlapping subnets attached concurrently: exactly one wins', async () => {
    const subnets = await Promise.all(['10.0.0.0/24', '10.0.0.0/16', '10.0.0.0/25', '10.0.0.128/25'].map((c) => netWithSubnet(hh, c)));
    const r = await router(hh);
    const res = await Promise.all(subnets.map((s) => hh.req('PUT', `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: s.subnet })));
    const won = res.filter((x) => x.status === 200);
    // 10.0.0.0/25 and 10.0.0.128/25 don't overlap each other, so one or two may win; never overlapping ones.
    const cidrs = await Promise.all(won.map(async (w) => (await hh.req('GET', `/v2.0/subnets/${w.body.subnet_id}`)).body.subnet.cidr));
    expect(won.length === 1 || (won.length === 2 && cidrs.sort().join() === '10.0.0.0/25,10.0.0.128/25')).toBe(true);
    expect((await record<RouterRecord>(hh, 'routers', r.id)).revision_number).toBe(won.length);
  });
});
