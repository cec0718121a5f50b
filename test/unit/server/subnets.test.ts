import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectFault, netWithSubnet, startApi, type Harness, type Json } from './helpers.js';

let h: Harness;
let net: string;
beforeEach(async () => {
  h = await startApi();
  net = (await h.req('POST', '/v2.0/networks', { network: { name: 'n' } })).body.network.id;
});
afterEach(() => h.close());

const sub = (extra: Record<string, unknown>) => ({ subnet: { network_id: net, ip_version: 4, cidr: '10.0.0.0/24', ...extra } });

describe('subnets', () => {
  it('defaults: first host gateway, pool of all but gateway, dhcp on; shows in network', async () => {
    const r = await h.req('POST', '/v2.0/subnets', sub({ name: 's' }));
    expect(r.status).toBe(201);
    expect(r.body.subnet).toMatchObject({
      name: 's', cidr: '10.0.0.0/24', ip_version: 4, gateway_ip: '10.0.0.1', enable_dhcp: true,
      allocation_pools: [{ start: '10.0.0.2', end: '10.0.0.254' }], dns_nameservers: [], host_routes: [],
      ipv6_ra_mode: null, ipv6_address_mode: null, revision_number: 0, tenant_id: 'admin',
    });
    expect((await h.req('GET', `/v2.0/networks/${net}`)).body.network.subnets).toEqual([r.body.subnet.id]);
  });

  it('gateway null, explicit gateway in the middle, explicit pools, routes and dns', async () => {
    const a = await h.req('POST', '/v2.0/subnets', sub({ gateway_ip: null, cidr: '10.1.0.0/29' }));
    expect(a.body.subnet).toMatchObject({ gateway_ip: null, allocation_pools: [{ start: '10.1.0.1', end: '10.1.0.6' }] });
    const b = await h.req('POST', '/v2.0/subnets', sub({ gateway_ip: '10.2.0.4', cidr: '10.2.0.0/29' }));
    expect(b.body.subnet.allocation_pools).toEqual([{ start: '10.2.0.1', end: '10.2.0.3' }, { start: '10.2.0.5', end: '10.2.0.6' }]);
    const c = await h.req('POST', '/v2.0/subnets', sub({
      cidr: '10.3.0.0/24', allocation_pools: [{ start: '10.3.0.10', end: '10.3.0.20' }],
      dns_nameservers: ['8.8.8.8'], host_routes: [{ destination: '192.168.0.0/16', nexthop: '10.3.0.254' }], enable_dhcp: false,
    }));
    expect(c.status).toBe(201);
    expect(c.body.subnet).toMatchObject({ allocation_pools: [{ start: '10.3.0.10', end: '10.3.0.20' }], dns_nameservers: ['8.8.8.8'], enable_dhcp: false });
  });

  it('validation errors', async () => {
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ cidr: '10.0.0.1/24' })), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ cidr: 'banana' })), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ ip_version: 5 })), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ ip_version: 6 })), 400, 'InvalidInput');
    // No cidr and no subnet pool: Neutron's BadRequest.
    expectFault(await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4 } }), 400, 'BadRequest');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ network_id: '00000000-0000-0000-0000-000000000000' })), 404, 'NetworkNotFound');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ gateway_ip: '10.9.0.1' })), 400, 'InvalidInput');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ allocation_pools: [{ start: '10.0.1.1', end: '10.0.1.5' }] })), 400, 'OutOfBoundsAllocationPool');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ allocation_pools: [{ start: '10.0.0.9', end: '10.0.0.5' }] })), 400, 'InvalidAllocationPool');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ allocation_pools: [{ start: '10.0.0.2', end: '10.0.0.9' }, { start: '10.0.0.5', end: '10.0.0.20' }] })), 409, 'OverlappingAllocationPools');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ allocation_pools: [{ start: '10.0.0.1', end: '10.0.0.9' }] })), 409, 'GatewayConflictWithAllocationPools');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ host_routes: [{ destination: '10.0.0.0/33', nexthop: '10.0.0.1' }] })), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ ipv6_address_mode: 'slaac' })), 400, 'InvalidInput');
    expect((await h.req('GET', '/v2.0/subnets')).body.subnets).toEqual([]);
  });

  it('overlapping subnets in one network are rejected; other networks may reuse the range', async () => {
    expect((await h.req('POST', '/v2.0/subnets', sub({}))).status).toBe(201);
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ cidr: '10.0.0.128/25' })), 400, 'InvalidInput');
    expectFault(await h.req('POST', '/v2.0/subnets', sub({ cidr: '10.0.0.0/16' })), 400, 'InvalidInput');
    const other = await netWithSubnet(h, '10.0.0.0/24');
    expect(other.subnet).toBeTruthy();
  });

  it('IPv6: validated, default pools, SLAAC needs /64, EUI-64 addresses for ports', async () => {
    const r = await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 6, cidr: '2001:db8::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' } });
    expect(r.status).toBe(201);
    expect(r.body.subnet).toMatchObject({ gateway_ip: '2001:db8::1', allocation_pools: [{ start: '2001:db8::2', end: '2001:db8::ffff:ffff:ffff:ffff' }] });
    expectFault(await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 6, cidr: '2001:db9::/80', ipv6_address_mode: 'slaac' } }), 400, 'InvalidInput');
    expectFault(await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 6, cidr: '2001:db8:0:0:1::/80' } }), 400, 'InvalidInput');
    const p = await h.req('POST', '/v2.0/ports', { port: { network_id: net, mac_address: 'fa:16:3e:11:22:33' } });
    expect(p.body.port.fixed_ips).toEqual([{ subnet_id: r.body.subnet.id, ip_address: '2001:db8::f816:3eff:fe11:2233' }]);
    const s2 = await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 6, cidr: '2001:db8:1::/64' } });
    const p2 = await h.req('POST', '/v2.0/ports', { port: { network_id: net, fixed_ips: [{ subnet_id: s2.body.subnet.id }] } });
    expect(p2.status).toBe(201);
    expect(p2.body.port.fixed_ips[0].ip_address).toMatch(/^2001:db8:1:/);
  });

  it('update: gateway, pools, dns; read-only refused', async () => {
    const id = (await h.req('POST', '/v2.0/subnets', sub({}))).body.subnet.id;
    const u = await h.req('PUT', `/v2.0/subnets/${id}`, { subnet: { name: 'x', dns_nameservers: ['1.1.1.1'], allocation_pools: [{ start: '10.0.0.100', end: '10.0.0.200' }], gateway_ip: '10.0.0.254' } });
    expect(u.status).toBe(200);
    expect(u.body.subnet).toMatchObject({ name: 'x', gateway_ip: '10.0.0.254', revision_number: 1, dns_nameservers: ['1.1.1.1'] });
    expectFault(await h.req('PUT', `/v2.0/subnets/${id}`, { subnet: { gateway_ip: '10.0.0.150' } }), 409, 'GatewayConflictWithAllocationPools');
    expectFault(await h.req('PUT', `/v2.0/subnets/${id}`, { subnet: { cidr: '10.0.0.0/25' } }), 400, 'HTTPBadRequest');
    expectFault(await h.req('PUT', `/v2.0/subnets/${id}`, { subnet: { network_id: net } }), 400, 'HTTPBadRequest');
  });

  it('delete: SubnetInUse while a port holds an address; DHCP port addresses are dropped', async () => {
    const id = (await h.req('POST', '/v2.0/subnets', sub({}))).body.subnet.id;
    const vm = await h.req('POST', '/v2.0/ports', { port: { network_id: net } });
    const dhcp = await h.req('POST', '/v2.0/ports', { port: { network_id: net, device_owner: 'network:dhcp' } });
    expectFault(await h.req('DELETE', `/v2.0/subnets/${id}`), 409, 'SubnetInUse');
    await h.req('DELETE', `/v2.0/ports/${vm.body.port.id}`);
    expect((await h.req('DELETE', `/v2.0/subnets/${id}`)).status).toBe(204);
    expect((await h.req('GET', `/v2.0/ports/${dhcp.body.port.id}`)).body.port.fixed_ips).toEqual([]);
    expectFault(await h.req('GET', `/v2.0/subnets/${id}`), 404, 'SubnetNotFound');
    expect((await h.store.range('/ipam/ip/')).kvs).toEqual([]);
  });

  for (const mode of ['slaac', 'dhcpv6-stateless'] as const) {
    it(`delete: a ${mode} subnet takes the automatic addresses of ports with it, not a router interface's`, async () => {
      const v4 = (await h.req('POST', '/v2.0/subnets', sub({}))).body.subnet.id;
      const v6 = (await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 6, cidr: '2001:db8::/64', ipv6_address_mode: mode, ipv6_ra_mode: mode } })).body.subnet.id;
      const vm = (await h.req('POST', '/v2.0/ports', { port: { network_id: net } })).body.port;
      expect(vm.fixed_ips.map((f: Json) => f.subnet_id)).toEqual([v4, v6]);
      const iface = (await h.req('POST', '/v2.0/ports', { port: { network_id: net, device_owner: 'network:router_interface', device_id: 'r1', fixed_ips: [{ subnet_id: v6 }] } })).body.port;
      expectFault(await h.req('DELETE', `/v2.0/subnets/${v6}`), 409, 'SubnetInUse');
      await h.req('DELETE', `/v2.0/ports/${iface.id}`);
      expect((await h.req('DELETE', `/v2.0/subnets/${v6}`)).status).toBe(204);
      const after = (await h.req('GET', `/v2.0/ports/${vm.id}`)).body.port;
      expect(after.fixed_ips).toEqual([vm.fixed_ips[0]]);
      expect(after.revision_number).toBe(vm.revision_number + 1);
      expect((await h.store.range(`/ipam/ip/${v6}/`)).kvs).toEqual([]);
      // A port update naming only the IPv4 subnet keeps its address there (Neutron reuses it).
      expect((await h.req('PUT', `/v2.0/ports/${vm.id}`, { port: { fixed_ips: [{ subnet_id: v4 }] } })).body.port.fixed_ips).toEqual([vm.fixed_ips[0]]);
    });
  }

  it('port update: automatic IPv6 addresses stay when fixed_ips leaves them out; a subnet-only entry reuses the address', async () => {
    const v4 = (await h.req('POST', '/v2.0/subnets', sub({}))).body.subnet.id;
    await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 6, cidr: '2001:db8::/64', ipv6_address_mode: 'slaac', ipv6_ra_mode: 'slaac' } });
    const vm = (await h.req('POST', '/v2.0/ports', { port: { network_id: net } })).body.port;
    const u = await h.req('PUT', `/v2.0/ports/${vm.id}`, { port: { fixed_ips: [{ subnet_id: v4, ip_address: '10.0.0.77' }] } });
    expect(u.body.port.fixed_ips).toEqual([{ subnet_id: v4, ip_address: '10.0.0.77' }, vm.fixed_ips[1]]);
    expect(await h.store.get(`/ipam/ip/${v4}/${vm.fixed_ips[0].ip_address}`)).toBeUndefined();
  });
});
