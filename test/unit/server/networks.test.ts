import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { networkKeyKey, resourceKey, segmentKey } from '../../../src/model/keys.js';
import type { NetworkRecord } from '../../../src/model/records.js';
import { expectFault, netWithSubnet, startApi, type Harness } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startApi({ config: { segments: { geneve: [[100, 102]], vxlan: [[1, 10]], vlan: { physnet1: [[10, 11]] }, flat: ['physnet1', 'physnet2'] } } });
});
afterEach(() => h.close());

describe('networks', () => {
  it('creates with Neutron defaults and stores key and segment', async () => {
    const r = await h.req('POST', '/v2.0/networks', { network: { name: 'blue' } });
    expect(r.status).toBe(201);
    const n = r.body.network;
    expect(n).toMatchObject({
      name: 'blue', admin_state_up: true, status: 'ACTIVE', shared: false, 'router:external': false, mtu: 1442,
      port_security_enabled: true, subnets: [], tags: [], description: '', revision_number: 0,
      project_id: 'admin', tenant_id: 'admin', 'provider:network_type': 'geneve', 'provider:physical_network': null,
    });
    expect(n.key).toBeUndefined();
    expect(n.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const rec = JSON.parse((await h.store.get(resourceKey('networks', n.id)))!.value) as NetworkRecord;
    expect(rec.key).toBeGreaterThanOrEqual(1);
    expect((await h.store.get(networkKeyKey(rec.key)))!.value).toBe(n.id);
    expect((await h.store.get(segmentKey('geneve', null, n['provider:segmentation_id'])))!.value).toBe(n.id);
  });

  it('allocates VNIs uniquely from the range, then NoNetworkAvailable', async () => {
    const ids = new Set<number>();
    for (let i = 0; i < 3; i++) ids.add((await h.req('POST', '/v2.0/networks', { network: {} })).body.network['provider:segmentation_id']);
    expect([...ids].sort()).toEqual([100, 101, 102]);
    expectFault(await h.req('POST', '/v2.0/networks', { network: {} }), 503, 'NoNetworkAvailable');
  });

  it('keys are unique across networks', async () => {
    const keys = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const id = (await h.req('POST', '/v2.0/networks', { network: {} })).body.network.id;
      keys.add((JSON.parse((await h.store.get(resourceKey('networks', id)))!.value) as NetworkRecord).key);
    }
    expect(keys.size).toBe(3);
  });

  it('provider networks: vlan, flat, vxlan with in-use errors', async () => {
    const vlan = await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1' } });
    expect(vlan.status).toBe(201);
    expect(vlan.body.network).toMatchObject({ mtu: 1500, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1' });
    expect([10, 11]).toContain(vlan.body.network['provider:segmentation_id']);
    const seg = vlan.body.network['provider:segmentation_id'];
    expectFault(await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': seg } }), 409, 'VlanIdInUse');
    expect((await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 3000 } })).status).toBe(201);
    expectFault(await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'vlan' } }), 400, 'InvalidInput');
    expect((await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'flat', 'provider:physical_network': 'physnet2' } })).body.network['provider:segmentation_id']).toBeNull();
    expectFault(await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'flat', 'provider:physical_network': 'physnet2' } }), 409, 'FlatNetworkInUse');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'flat', 'provider:physical_network': 'nope' } }), 400, 'InvalidInput');
    const vx = await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'vxlan', 'provider:segmentation_id': 5000 } });
    expect(vx.body.network).toMatchObject({ mtu: 1450, 'provider:segmentation_id': 5000 });
    expectFault(await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'vxlan', 'provider:segmentation_id': 5000 } }), 409, 'TunnelIdInUse');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'bogus' } }), 400, 'HTTPBadRequest');
    // Deleting releases the segment.
    expect((await h.req('DELETE', `/v2.0/networks/${vx.body.network.id}`)).status).toBe(204);
    expect((await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'vxlan', 'provider:segmentation_id': 5000 } })).status).toBe(201);
  });

  it('rejects read-only, unknown and malformed attributes with 400; provider and shared are admin only', async () => {
    expectFault(await h.req('POST', '/v2.0/networks', { network: { status: 'DOWN' } }), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { id: 'x' } }), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { bogus: 1 } }), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { admin_state_up: 'maybe' } }), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { name: 5 } }), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/networks', { nope: {} }), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { mtu: 9000 } }), 400, 'InvalidInput');
    const p = { project: 'p1' };
    expectFault(await h.req('POST', '/v2.0/networks', { network: { 'provider:network_type': 'vxlan' } }, p), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { shared: true } }, p), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { 'router:external': true } }, p), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { project_id: 'p2' } }, p), 400, 'HTTPBadRequest');
    const own = await h.req('POST', '/v2.0/networks', { network: { name: 'x' } }, p);
    expect(own.body.network['provider:network_type']).toBeUndefined();
    expect((await h.req('GET', `/v2.0/networks/${own.body.network.id}`)).body.network['provider:network_type']).toBe('geneve');
    // Nothing was created by the failed requests.
    expect((await h.req('GET', '/v2.0/networks')).body.networks).toHaveLength(1);
  });

  it('updates bump revision_number and updated_at; read-only and provider changes refused', async () => {
    const id = (await h.req('POST', '/v2.0/networks', { network: { name: 'a' } })).body.network.id;
    const u = await h.req('PUT', `/v2.0/networks/${id}`, { network: { name: 'b', admin_state_up: false, description: 'd', mtu: 1400 } });
    expect(u.status).toBe(200);
    expect(u.body.network).toMatchObject({ name: 'b', admin_state_up: false, description: 'd', mtu: 1400, revision_number: 1 });
    expectFault(await h.req('PUT', `/v2.0/networks/${id}`, { network: { status: 'DOWN' } }), 400, 'HTTPBadRequest');
    expectFault(await h.req('PUT', `/v2.0/networks/${id}`, { network: { 'provider:segmentation_id': 4 } }), 400, 'InvalidInput');
    expectFault(await h.req('PUT', `/v2.0/networks/${id}`, { network: { tenant_id: 'x' } }), 400, 'HTTPBadRequest');
    expectFault(await h.req('PUT', `/v2.0/networks/00000000-0000-0000-0000-000000000000`, { network: { name: 'x' } }), 404, 'NetworkNotFound');
    expect((await h.req('GET', `/v2.0/networks/${id}`)).body.network.revision_number).toBe(1);
  });

  it('If-Match: revision_number=N constrains PUT and DELETE (412 otherwise); subnets bump their network', async () => {
    const n = (await h.req('POST', '/v2.0/networks', { network: { name: 'blue' } })).body.network;
    const put = (rev: string, name: string) => h.req('PUT', `/v2.0/networks/${n.id}`, { network: { name } }, { headers: { 'If-Match': rev } });
    const stale = await put('revision_number=7', 'x');
    expectFault(stale, 412, 'RevisionNumberConstraintFailed');
    expect(stale.body.NeutronError.message).toBe('Constrained to 7, but current revision is 0');
    expectFault(await put('revision_number=x', 'x'), 400, 'HTTPBadRequest');
    // A stale constraint below 0 (tempest sends current - 1 on a new network) is a mismatch.
    expectFault(await put('revision_number=-1', 'x'), 412, 'RevisionNumberConstraintFailed');
    expect((await put('revision_number=0', 'red')).body.network).toMatchObject({ name: 'red', revision_number: 1 });
    expect((await put('"some-etag"', 'green')).status).toBe(200);
    const s = (await h.req('POST', '/v2.0/subnets', { subnet: { network_id: n.id, ip_version: 4, cidr: '10.0.0.0/24' } })).body.subnet;
    expect((await h.req('GET', `/v2.0/networks/${n.id}`)).body.network.revision_number).toBe(3);
    await h.req('DELETE', `/v2.0/subnets/${s.id}`);
    expect((await h.req('GET', `/v2.0/networks/${n.id}`)).body.network.revision_number).toBe(4);
    expectFault(await h.req('DELETE', `/v2.0/networks/${n.id}`, undefined, { headers: { 'If-Match': 'revision_number=3' } }), 412, 'RevisionNumberConstraintFailed');
    expect((await h.req('DELETE', `/v2.0/networks/${n.id}`, undefined, { headers: { 'If-Match': 'revision_number=4' } })).status).toBe(204);
  });

  it('delete: 404, NetworkInUse, DHCP ports auto-deleted, everything released', async () => {
    expectFault(await h.req('DELETE', '/v2.0/networks/00000000-0000-0000-0000-000000000000'), 404, 'NetworkNotFound');
    const { net } = await netWithSubnet(h);
    const vm = await h.req('POST', '/v2.0/ports', { port: { network_id: net, device_owner: 'compute:nova' } });
    await h.req('POST', '/v2.0/ports', { port: { network_id: net, device_owner: 'network:dhcp' } });
    expectFault(await h.req('DELETE', `/v2.0/networks/${net}`), 409, 'NetworkInUse');
    expect((await h.req('GET', '/v2.0/ports')).body.ports).toHaveLength(2);
    expect((await h.req('DELETE', `/v2.0/ports/${vm.body.port.id}`)).status).toBe(204);
    expect((await h.req('DELETE', `/v2.0/networks/${net}`)).status).toBe(204);
    expect((await h.req('GET', '/v2.0/ports')).body.ports).toHaveLength(0);
    expect((await h.req('GET', '/v2.0/subnets')).body.subnets).toHaveLength(0);
    const left = (await h.store.range('/')).kvs.map((kv) => kv.key).filter((k) => !k.startsWith('/ipam/hint/'));
    expect(left).toEqual([]);
  });

  it('tags: PUT all, add one, check, remove one, remove all, filters', async () => {
    const id = (await h.req('POST', '/v2.0/networks', { network: { name: 't' } })).body.network.id;
    const other = (await h.req('POST', '/v2.0/networks', { network: { name: 'u' } })).body.network.id;
    expect((await h.req('PUT', `/v2.0/networks/${id}/tags`, { tags: ['a', 'b'] })).body).toEqual({ tags: ['a', 'b'] });
    expect((await h.req('PUT', `/v2.0/networks/${id}/tags/c`)).status).toBe(201);
    expect((await h.req('GET', `/v2.0/networks/${id}/tags`)).body).toEqual({ tags: ['a', 'b', 'c'] });
    expect((await h.req('GET', `/v2.0/networks/${id}/tags/a`)).status).toBe(204);
    expectFault(await h.req('GET', `/v2.0/networks/${id}/tags/zz`), 404, 'TagNotFound');
    await h.req('PUT', `/v2.0/networks/${other}/tags`, { tags: ['b'] });
    const names = async (q: string): Promise<string[]> => (await h.req('GET', `/v2.0/networks?${q}`)).body.networks.map((n: { name: string }) => n.name).sort();
    expect(await names('tags=a,b')).toEqual(['t']);
    expect(await names('tags-any=a,b')).toEqual(['t', 'u']);
    expect(await names('not-tags=b')).toEqual([]);
    expect(await names('not-tags-any=a')).toEqual(['u']);
    expect((await h.req('DELETE', `/v2.0/networks/${id}/tags/a`)).status).toBe(204);
    expectFault(await h.req('DELETE', `/v2.0/networks/${id}/tags/a`), 404, 'TagNotFound');
    expect((await h.req('DELETE', `/v2.0/networks/${id}/tags`)).status).toBe(204);
    const got = (await h.req('GET', `/v2.0/networks/${id}`)).body.network;
    expect(got.tags).toEqual([]);
    expect(got.revision_number).toBe(4);
    expectFault(await h.req('PUT', `/v2.0/networks/${id}/tags`, { tags: 'a' }), 400, 'HTTPBadRequest');
  });
});
