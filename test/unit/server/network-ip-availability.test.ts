import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CORE_PLUGINS } from '../../../src/server/resources/index.js';
import { expectFault, startApi, type Harness, type Json } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startApi({ plugins: CORE_PLUGINS });
});
afterEach(() => h.close());

const ADMIN = { admin: true };

describe('network-ip-availability', () => {
  it('totals are the pools, used the allocations in them; admin only; IPv6 totals exact', async () => {
    const net = (await h.req('POST', '/v2.0/networks', { network: { name: 'n' } }, { project: 'p1' })).body.network;
    const show = () => h.req('GET', `/v2.0/network-ip-availabilities/${net.id}`, undefined, ADMIN);
    expect((await show()).body.network_ip_availability).toEqual({
      network_id: net.id, network_name: 'n', project_id: 'p1', tenant_id: 'p1', total_ips: 0, used_ips: 0, subnet_ip_availability: [],
    });
    const s = (await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 4, cidr: '10.0.0.0/24' } }, { project: 'p1' })).body.subnet;
    const p = (await h.req('POST', '/v2.0/ports', { port: { network_id: net.id } }, { project: 'p1' })).body.port;
    // The gateway (10.0.0.1) is outside the pool: 253 addresses, one used.
    expect((await show()).body.network_ip_availability).toMatchObject({
      total_ips: 253, used_ips: 1, subnet_ip_availability: [{ subnet_id: s.id, cidr: '10.0.0.0/24', ip_version: 4, total_ips: 253, used_ips: 1 }],
    });
    await h.req('DELETE', `/v2.0/ports/${p.id}`, undefined, { project: 'p1' });
    expect((await show()).body.network_ip_availability.used_ips).toBe(0);
    await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net.id, ip_version: 6, cidr: '2001:db8::/64' } }, ADMIN);
    const raw = await (await fetch(`${h.url}/v2.0/network-ip-availabilities?ip_version=6`, { headers: { 'X-Roles': 'admin' } })).text();
    // 2^64 - 2 (the subnet-router anycast address and the gateway), exactly.
    expect(raw).toContain('"total_ips":18446744073709551614,');
    expect(raw).toContain('"total_ips":18446744073709551867,');
    const list = (await h.req('GET', '/v2.0/network-ip-availabilities', undefined, ADMIN)).body.network_ip_availabilities;
    expect(list.map((x: Json) => x.network_id)).toEqual([net.id]);
    expect((await h.req('GET', '/v2.0/network-ip-availabilities?ip_version=4&network_name=zzz', undefined, ADMIN)).body.network_ip_availabilities).toEqual([]);
    // Other projects: none listed, 404 for one; unknown network 404; read only.
    expect((await h.req('GET', '/v2.0/network-ip-availabilities', undefined, { project: 'p1' })).body.network_ip_availabilities).toEqual([]);
    expectFault(await h.req('GET', `/v2.0/network-ip-availabilities/${net.id}`, undefined, { project: 'p1' }), 404, 'NetworkNotFound');
    expectFault(await h.req('GET', '/v2.0/network-ip-availabilities/9b0ad4c5-7b23-4a7a-8a3f-6c4c4b0e8f11', undefined, ADMIN), 404, 'NetworkNotFound');
    expectFault(await h.req('PUT', `/v2.0/network-ip-availabilities/${net.id}`, { network_ip_availability: {} }, ADMIN), 405, 'HTTPMethodNotAllowed');
  });
});
