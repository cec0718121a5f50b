import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IpSet } from '../../../src/model/ip-set.js';
import { CORE_PLUGINS } from '../../../src/server/resources/index.js';
import { expectFault, startApi, type Harness, type Json } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startApi({ plugins: CORE_PLUGINS });
});
afterEach(() => h.close());

const ADMIN = { admin: true };
const P1 = { project: 'p1' };
const P2 = { project: 'p2' };

async function pool(body: Record<string, unknown>, as: { project?: string; admin?: boolean } = P1): Promise<Json> {
  const r = await h.req('POST', '/v2.0/subnetpools', { subnetpool: { name: 'sp', ...body } }, as);
  if (r.status !== 201) throw new Error(JSON.stringify(r));
  return r.body.subnetpool;
}

async function network(as: { project?: string; admin?: boolean } = P1): Promise<string> {
  return (await h.req('POST', '/v2.0/networks', { network: { name: 'n' } }, as)).body.network.id;
}

async function dump(): Promise<string> {
  return JSON.stringify((await h.store.range('/')).kvs.map((kv) => [kv.key, kv.value, kv.modRevision]));
}

describe('IpSet', () => {
  it('merges, subtracts and lists minimal CIDRs; finds aligned free blocks', () => {
    const s = IpSet.parse(4, ['10.0.0.0/25', '10.0.0.128/25', '10.0.2.0/24'])!;
    expect(s.cidrTexts()).toEqual(['10.0.0.0/24', '10.0.2.0/24']);
    const d = s.difference(IpSet.parse(4, ['10.0.0.0/26'])!);
    expect(d.cidrTexts()).toEqual(['10.0.0.64/26', '10.0.0.128/25', '10.0.2.0/24']);
    expect(d.firstBlock(25)).toEqual({ version: 4, network: 0x0a000080n, prefixLen: 25 });
    expect(d.firstBlock(23)).toBeUndefined();
    expect(s.containsAll(IpSet.parse(4, ['10.0.0.16/28'])!)).toBe(true);
    expect(s.containsAll(IpSet.parse(4, ['10.0.1.0/28'])!)).toBe(false);
    expect(IpSet.parse(6, ['2001:db8::/48', '2001:db8:1::/48'])!.cidrTexts()).toEqual(['2001:db8::/47']);
    expect(IpSet.parse(4, ['2001:db8::/48'])).toBeUndefined();
  });
});

describe('subnet pools', () => {
  it('create: defaults, merged prefixes, bounds; shared and is_default admin only', async () => {
    const p = await pool({ prefixes: ['10.11.12.0/25', '10.11.12.128/25', '10.20.0.5/16'], min_prefixlen: '29' });
    expect(p).toMatchObject({
      name: 'sp',
      ip_version: 4,
      prefixes: ['10.11.12.0/24', '10.20.0.0/16'],
      // Strings, as Neutron shows them.
      min_prefixlen: '29',
      default_prefixlen: '29',
      max_prefixlen: '32',
      default_quota: null,
      shared: false,
      is_default: false,
      address_scope_id: null,
      project_id: 'p1',
      tenant_id: 'p1',
      revision_number: 0,
      tags: [],
    });
    const v6 = await pool({ prefixes: ['2001:db8:3::/48'] });
    expect(v6).toMatchObject({ ip_version: 6, min_prefixlen: '64', default_prefixlen: '64', max_prefixlen: '128' });
    const bad = async (body: Record<string, unknown>, status: number, type: string, as: { project?: string; admin?: boolean } = P1): Promise<void> => {
      expectFault(await h.req('POST', '/v2.0/subnetpools', { subnetpool: { name: 'x', ...body } }, as), status, type);
    };
    await bad({ prefixes: ['10.0.0.0/8', '2001:db8::/32'] }, 400, 'PrefixVersionMismatch');
    await bad({ prefixes: [] }, 400, 'EmptySubnetPoolPrefixList');
    await bad({ prefixes: ['10.0.0.0/33'] }, 400, 'HTTPBadRequest');
    await bad({ prefixes: ['10.0.0.0/8'], min_prefixlen: 28, max_prefixlen: 24 }, 400, 'IllegalSubnetPoolPrefixBounds');
    await bad({ prefixes: ['10.0.0.0/8'], max_prefixlen: 33 }, 400, 'IllegalSubnetPoolPrefixBounds');
    await bad({ prefixes: ['10.0.0.0/8'], default_prefixlen: 4 }, 400, 'IllegalSubnetPoolPrefixBounds');
    await bad({ prefixes: ['10.0.0.0/8'], min_prefixlen: -1 }, 400, 'HTTPBadRequest');
    await bad({ prefixes: ['10.0.0.0/8'], ip_version: 4 }, 400, 'HTTPBadRequest');
    await bad({ prefixes: ['10.0.0.0/8'], address_scope_id: '9b0ad4c5-7b23-4a7a-8a3f-6c4c4b0e8f11' }, 400, 'HTTPBadRequest');
    await bad({ prefixes: ['10.0.0.0/8'], shared: true }, 403, 'PolicyNotAuthorized');
    await bad({ prefixes: ['10.0.0.0/8'], is_default: true }, 403, 'PolicyNotAuthorized');
    expectFault(await h.req('POST', '/v2.0/subnetpools', { subnetpool: { prefixes: ['10.0.0.0/8'] } }, P1), 400, 'HTTPBadRequest');
    // Admin: shared is visible to all; one default per IP version.
    const shared = await pool({ prefixes: ['172.16.0.0/12'], shared: true, is_default: true }, ADMIN);
    expect(shared).toMatchObject({ shared: true, is_default: true });
    await bad({ prefixes: ['192.168.0.0/16'], is_default: true }, 400, 'InvalidInput', ADMIN);
    expect((await h.req('GET', `/v2.0/subnetpools/${shared.id}`, undefined, P2)).status).toBe(200);
    expectFault(await h.req('GET', `/v2.0/subnetpools/${p.id}`, undefined, P2), 404, 'SubnetPoolNotFound');
    expect((await h.req('GET', '/v2.0/subnetpools?sort_key=name', undefined, P2)).body.subnetpools.map((x: Json) => x.id)).toEqual([shared.id]);
  });

  it('update: prefixes only grow, bounds checked, shared read only; tags', async () => {
    const p = await pool({ prefixes: ['10.11.12.0/24'], min_prefixlen: 29 });
    const u = await h.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { prefixes: ['10.11.12.0/24', '10.11.15.0/24'], name: 'n2', min_prefixlen: 28, max_prefixlen: 30 } }, P1);
    expect(u.body.subnetpool).toMatchObject({ name: 'n2', prefixes: ['10.11.12.0/24', '10.11.15.0/24'], min_prefixlen: '28', max_prefixlen: '30', default_prefixlen: '29', revision_number: 1 });
    expect((await h.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { prefixes: ['10.11.0.0/16'] } }, P1)).body.subnetpool.prefixes).toEqual(['10.11.0.0/16']);
    const before = await dump();
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { prefixes: ['10.11.12.0/26'] } }, P1), 400, 'IllegalSubnetPoolPrefixUpdate');
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { prefixes: ['2001:db8::/32'] } }, P1), 400, 'PrefixVersionMismatch');
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { min_prefixlen: 31 } }, P1), 400, 'IllegalSubnetPoolPrefixBounds');
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { shared: true } }, ADMIN), 400, 'HTTPBadRequest');
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { tenant_id: 'admin' } }, ADMIN), 400, 'HTTPBadRequest');
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { is_default: true } }, P1), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { name: 'x' } }, P2), 404, 'SubnetPoolNotFound');
    expect(await dump()).toBe(before);
    expect((await h.req('PUT', `/v2.0/subnetpools/${p.id}/tags/blue`, undefined, P1)).status).toBe(201);
    expect((await h.req('GET', '/v2.0/subnetpools?tags=blue', undefined, P1)).body.subnetpools).toHaveLength(1);
  });

  it('subnets from a pool: by prefixlen, default prefixlen, explicit cidr; bounds, overlap, exhaustion; pool in use', async () => {
    const p = await pool({ prefixes: ['10.11.12.0/24'], min_prefixlen: 28, max_prefixlen: 30 });
    const net = await network();
    const sub = (extra: Record<string, unknown>) => h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, subnetpool_id: p.id, ...extra } }, P1);
    const a = await sub({ prefixlen: 30 });
    expect(a.status).toBe(201);
    expect(a.body.subnet).toMatchObject({ cidr: '10.11.12.0/30', subnetpool_id: p.id, gateway_ip: '10.11.12.1' });
    expect(a.body.subnet.prefixlen).toBeUndefined();
    expect((await sub({})).body.subnet.cidr).toBe('10.11.12.16/28');
    expect((await sub({ cidr: '10.11.12.32/29' })).body.subnet.cidr).toBe('10.11.12.32/29');
    const before = await dump();
    expectFault(await sub({ prefixlen: 27 }), 400, 'MinPrefixSubnetAllocationError');
    expectFault(await sub({ prefixlen: 31 }), 400, 'MaxPrefixSubnetAllocationError');
    expectFault(await sub({ cidr: '10.11.12.32/29' }), 409, 'SubnetAllocationError');
    expectFault(await sub({ cidr: '10.99.0.0/29' }), 400, 'BadRequest');
    expectFault(await sub({ ip_version: 6, prefixlen: 64 }), 400, 'BadRequest');
    expectFault(await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4 } }, P1), 400, 'BadRequest');
    expectFault(await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, cidr: '192.168.0.0/24' } }, P1), 400, 'NetworkSubnetPoolAffinityError');
    expectFault(await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, subnetpool_id: '9b0ad4c5-7b23-4a7a-8a3f-6c4c4b0e8f11' } }, P1), 404, 'SubnetPoolNotFound');
    expect(await dump()).toBe(before);
    // Fill the pool with /28s: 16 blocks, 3 used (one /30 block's /28, one /28, one /29's /28).
    for (let i = 0; i < 13; i++) expect((await sub({ prefixlen: 28 })).status).toBe(201);
    expectFault(await sub({ prefixlen: 28 }), 409, 'SubnetAllocationError');
    expectFault(await h.req('DELETE', `/v2.0/subnetpools/${p.id}`, undefined, P1), 409, 'SubnetPoolInUse');
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}/remove_prefixes`, { prefixes: ['10.11.12.0/28'] }, P1), 400, 'IllegalSubnetPoolPrefixUpdate');
    // Deleting a subnet returns its prefix to the pool.
    await h.req('DELETE', `/v2.0/subnets/${a.body.subnet.id}`, undefined, P1);
    expect((await sub({ prefixlen: 30 })).body.subnet.cidr).toBe('10.11.12.0/30');
  });

  it('quota (default_quota, addresses per project); dual stack from two pools; default pool', async () => {
    const p = await pool({ prefixes: ['10.11.12.0/24'], min_prefixlen: 28, max_prefixlen: 30, default_quota: 20 });
    const net = await network();
    const sub = (extra: Record<string, unknown>) => h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, subnetpool_id: p.id, ...extra } }, P1);
    expect((await sub({ prefixlen: 28 })).status).toBe(201);
    expect((await sub({ prefixlen: 30 })).status).toBe(201);
    expectFault(await sub({ prefixlen: 30 }), 409, 'SubnetPoolQuotaExceeded');
    const v6 = await pool({ prefixes: ['2001:db8:3::/48'], min_prefixlen: 64 });
    expect((await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 6, subnetpool_id: v6.id } }, P1)).body.subnet.cidr).toBe('2001:db8:3::/64');
    // use_default_subnetpool: the admin's default pool (shared) of that IP version.
    const net2 = await network();
    expectFault(await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net2, ip_version: 4, use_default_subnetpool: true } }, P1), 400, 'BadRequest');
    const def = await pool({ prefixes: ['100.64.0.0/16'], default_prefixlen: 24, shared: true, is_default: true }, ADMIN);
    const d = await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net2, ip_version: 4, use_default_subnetpool: true } }, P1);
    expect(d.body.subnet).toMatchObject({ cidr: '100.64.0.0/24', subnetpool_id: def.id });
    // is_default can be moved by the admin.
    expect((await h.req('PUT', `/v2.0/subnetpools/${def.id}`, { subnetpool: { is_default: false } }, ADMIN)).body.subnetpool.is_default).toBe(false);
    expect((await h.req('PUT', `/v2.0/subnetpools/${p.id}`, { subnetpool: { is_default: true } }, ADMIN)).body.subnetpool.is_default).toBe(true);
  });

  it('add_prefixes / remove_prefixes; delete', async () => {
    const p = await pool({ prefixes: ['192.168.1.0/24', '10.10.10.0/24'], min_prefixlen: 16 });
    const add = await h.req('PUT', `/v2.0/subnetpools/${p.id}/add_prefixes`, { prefixes: ['192.168.2.0/24', '10.10.0.0/16'] }, P1);
    expect(add.status).toBe(200);
    expect(add.body).toEqual({ prefixes: ['10.10.0.0/16', '192.168.1.0/24', '192.168.2.0/24'] });
    const rm = await h.req('PUT', `/v2.0/subnetpools/${p.id}/remove_prefixes`, { prefixes: ['192.168.2.0/24'] }, P1);
    expect(rm.body).toEqual({ prefixes: ['10.10.0.0/16', '192.168.1.0/24'] });
    expect((await h.req('GET', `/v2.0/subnetpools/${p.id}`, undefined, P1)).body.subnetpool).toMatchObject({ prefixes: ['10.10.0.0/16', '192.168.1.0/24'], revision_number: 2 });
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}/add_prefixes`, { prefixes: ['2001:db8::/32'] }, P1), 400, 'PrefixVersionMismatch');
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}/add_prefixes`, { nope: [] }, P1), 400, 'BadRequest');
    expectFault(await h.req('PUT', `/v2.0/subnetpools/${p.id}/add_prefixes`, { prefixes: ['10.0.0.0/8'] }, P2), 404, 'SubnetPoolNotFound');
    expect((await h.req('DELETE', `/v2.0/subnetpools/${p.id}`, undefined, P1)).status).toBe(204);
    expectFault(await h.req('GET', `/v2.0/subnetpools/${p.id}`, undefined, P1), 404, 'SubnetPoolNotFound');
    const exts = (await h.req('GET', '/v2.0/extensions')).body.extensions.map((e: Json) => e.alias);
    expect(exts).toEqual(expect.arrayContaining(['subnet_allocation', 'default-subnetpools', 'subnetpool-prefix-ops']));
    expect(exts).not.toContain('address-scope');
  });

  it('concurrent allocations from one pool never overlap', async () => {
    const p = await pool({ prefixes: ['10.0.0.0/24'], min_prefixlen: 28 });
    const nets = await Promise.all(Array.from({ length: 8 }, () => network()));
    const got = await Promise.all(nets.map((n) => h.req('POST', '/v2.0/subnets', { subnet: { network_id: n, ip_version: 4, subnetpool_id: p.id } }, P1)));
    const cidrs = got.map((r) => r.body.subnet.cidr);
    expect(new Set(cidrs).size).toBe(8);
  });
});
