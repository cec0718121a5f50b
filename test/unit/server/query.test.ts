import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFault, startApi, type Harness } from './helpers.js';

let h: Harness;
const ids: string[] = [];
beforeAll(async () => {
  h = await startApi();
  for (const [name, up] of [['a', true], ['b', false], ['c', true], ['d', false], ['e', true]] as const) {
    ids.push((await h.req('POST', '/v2.0/networks', { network: { name, admin_state_up: up, description: name === 'c' ? 'x' : '' } })).body.network.id);
  }
});
afterAll(() => h.close());

const names = (r: { body: { networks: { name: string }[] } }): string[] => r.body.networks.map((n) => n.name);

describe('list queries', () => {
  it('filters: any attribute, repeated = OR, booleans; unknown refused (filter-validation)', async () => {
    expect(names(await h.req('GET', '/v2.0/networks?name=b'))).toEqual(['b']);
    expect(names(await h.req('GET', '/v2.0/networks?name=b&name=d&sort_key=name'))).toEqual(['b', 'd']);
    expect(names(await h.req('GET', '/v2.0/networks?admin_state_up=False&sort_key=name'))).toEqual(['b', 'd']);
    expect(names(await h.req('GET', '/v2.0/networks?admin_state_up=true&description=x'))).toEqual(['c']);
    expect(names(await h.req('GET', `/v2.0/networks?id=${ids[4]}`))).toEqual(['e']);
    expect(names(await h.req('GET', '/v2.0/networks?name=zz'))).toEqual([]);
    const bad = await h.req('GET', '/v2.0/networks?nonsense=1');
    expectFault(bad, 400, 'HTTPBadRequest');
    expect(bad.body.NeutronError.message).toBe("['nonsense'] is invalid attribute for filtering");
    expect((await h.req('GET', '/v2.0/networks?tenant_id=admin&project_id=admin&router:external=false')).body.networks).toHaveLength(5);
    // changed_since (standard-attr-timestamp): updated at or after.
    expect((await h.req('GET', '/v2.0/networks?changed_since=2000-01-01T00:00:00')).body.networks).toHaveLength(5);
    expect((await h.req('GET', '/v2.0/networks?changed_since=2999-01-01T00:00:00Z')).body.networks).toHaveLength(0);
    expectFault(await h.req('GET', '/v2.0/networks?changed_since=yesterday'), 400, 'HTTPBadRequest');
  });

  it('fields= selects attributes', async () => {
    const r = await h.req('GET', '/v2.0/networks?fields=id&fields=name&name=a');
    expect(r.body.networks).toEqual([{ id: ids[0], name: 'a' }]);
    const one = await h.req('GET', `/v2.0/networks/${ids[1]}?fields=name`);
    expect(one.body).toEqual({ network: { name: 'b' } });
  });

  it('sorting: multiple keys and directions; bad keys rejected', async () => {
    expect(names(await h.req('GET', '/v2.0/networks?sort_key=name&sort_dir=desc'))).toEqual(['e', 'd', 'c', 'b', 'a']);
    expect(names(await h.req('GET', '/v2.0/networks?sort_key=admin_state_up&sort_dir=asc&sort_key=name&sort_dir=desc'))).toEqual(['d', 'b', 'e', 'c', 'a']);
    expectFault(await h.req('GET', '/v2.0/networks?sort_key=bogus'), 400, 'HTTPBadRequest');
    expectFault(await h.req('GET', '/v2.0/networks?sort_key=name&sort_dir=up'), 400, 'HTTPBadRequest');
    expectFault(await h.req('GET', '/v2.0/networks?sort_key=name&sort_key=id&sort_dir=asc'), 400, 'HTTPBadRequest');
  });

  it('pagination: limit, marker, links, page_reverse', async () => {
    const p1 = await h.req('GET', '/v2.0/networks?limit=2&sort_key=name');
    expect(names(p1)).toEqual(['a', 'b']);
    const links1 = p1.body.networks_links as { rel: string; href: string }[];
    // Neutron's links: a full forward page offers next and previous (get_pagination_links).
    expect(links1.map((l) => l.rel)).toEqual(['next', 'previous']);
    const next = new URL(links1[0].href);
    expect(next.searchParams.get('marker')).toBe(ids[1]);
    const p2 = await h.req('GET', next.pathname + next.search);
    expect(names(p2)).toEqual(['c', 'd']);
    expect((p2.body.networks_links as { rel: string }[]).map((l) => l.rel).sort()).toEqual(['next', 'previous']);
    const p3 = await h.req('GET', `/v2.0/networks?limit=2&sort_key=name&marker=${ids[3]}`);
    expect(names(p3)).toEqual(['e']);
    expect((p3.body.networks_links as { rel: string }[]).map((l) => l.rel)).toEqual(['previous']);
    const prev = new URL((p3.body.networks_links as { href: string }[])[0].href);
    expect(prev.searchParams.get('page_reverse')).toBe('True');
    expect(names(await h.req('GET', prev.pathname + prev.search))).toEqual(['c', 'd']);
    // The last full page still offers next: it leads to an empty page with only previous
    // (no marker: the last page backwards), which is how tempest walks the links.
    const last = await h.req('GET', `/v2.0/networks?limit=1&sort_key=name&marker=${ids[3]}`);
    expect(names(last)).toEqual(['e']);
    const after = new URL((last.body.networks_links as { rel: string; href: string }[]).find((l) => l.rel === 'next')!.href);
    const empty = await h.req('GET', after.pathname + after.search);
    expect(names(empty)).toEqual([]);
    const back = (empty.body.networks_links as { rel: string; href: string }[]);
    expect(back.map((l) => l.rel)).toEqual(['previous']);
    const backUrl = new URL(back[0].href);
    expect(backUrl.searchParams.get('marker')).toBeNull();
    expect(names(await h.req('GET', backUrl.pathname + backUrl.search))).toEqual(['e']);
    expect(names(await h.req('GET', '/v2.0/networks?limit=10&sort_key=name'))).toHaveLength(5);
    expect((await h.req('GET', '/v2.0/networks?limit=10')).body.networks_links.map((l: { rel: string }) => l.rel)).toEqual(['previous']);
    expect((await h.req('GET', '/v2.0/networks?limit=0')).body.networks_links).toBeUndefined();
    expectFault(await h.req('GET', '/v2.0/networks?limit=x'), 400, 'HTTPBadRequest');
    expectFault(await h.req('GET', '/v2.0/networks?marker=nope'), 400, 'HTTPBadRequest');
  });

  it('port filters on fixed_ips and device_owner', async () => {
    const net = ids[0];
    const s = await h.req('POST', '/v2.0/subnets', { subnet: { network_id: net, ip_version: 4, cidr: '10.5.0.0/24' } });
    await h.req('POST', '/v2.0/ports', { port: { network_id: net, fixed_ips: [{ ip_address: '10.5.0.10' }], device_owner: 'compute:nova' } });
    await h.req('POST', '/v2.0/ports', { port: { network_id: net, fixed_ips: [{ ip_address: '10.5.0.11' }] } });
    expect((await h.req('GET', '/v2.0/ports?fixed_ips=ip_address%3D10.5.0.10')).body.ports).toHaveLength(1);
    expect((await h.req('GET', `/v2.0/ports?fixed_ips=subnet_id%3D${s.body.subnet.id}`)).body.ports).toHaveLength(2);
    expect((await h.req('GET', '/v2.0/ports?device_owner=compute:nova')).body.ports).toHaveLength(1);
    // Kinds combine on one address; ip_address_substr (ip-substring-filtering).
    expect((await h.req('GET', `/v2.0/ports?fixed_ips=ip_address%3D10.5.0.10&fixed_ips=subnet_id%3D${s.body.subnet.id}`)).body.ports).toHaveLength(1);
    expect((await h.req('GET', '/v2.0/ports?fixed_ips=ip_address%3D10.5.0.10&fixed_ips=subnet_id%3Dnope')).body.ports).toHaveLength(0);
    expect((await h.req('GET', '/v2.0/ports?fixed_ips=ip_address_substr%3D10.5.0.1')).body.ports).toHaveLength(2);
    expect((await h.req('GET', '/v2.0/ports?fixed_ips=ip_address_substr%3D0.11')).body.ports).toHaveLength(1);
    expectFault(await h.req('GET', '/v2.0/ports?fixed_ips=mac%3Dx'), 400, 'HTTPBadRequest');
    expect((await h.req('GET', `/v2.0/ports?network_id=${net}&network_id=${ids[1]}`)).body.ports).toHaveLength(2);
  });
});
