import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { macKey, portKeyKey, resourceKey } from '../../../src/model/keys.js';
import type { PortRecord } from '../../../src/model/records.js';
import { expectFault, netWithSubnet, startApi, type Harness } from './helpers.js';

let h: Harness;
let net: string;
let subnet: string;
beforeEach(async () => {
  h = await startApi({ config: { baseMac: 'fa:16:3e:00:00:00' } });
  ({ net, subnet } = await netWithSubnet(h, '10.0.0.0/28'));
});
afterEach(() => h.close());

const port = (extra: Record<string, unknown> = {}) => ({ port: { network_id: net, ...extra } });

describe('ports', () => {
  it('defaults: generated MAC from the base, one address, DOWN, unbound, key stored', async () => {
    const r = await h.req('POST', '/v2.0/ports', port({ name: 'p', device_id: 'vm1', device_owner: 'compute:nova' }));
    expect(r.status).toBe(201);
    const p = r.body.port;
    expect(p.mac_address).toMatch(/^fa:16:3e(:[0-9a-f]{2}){3}$/);
    expect(p).toMatchObject({
      name: 'p', status: 'DOWN', admin_state_up: true, device_id: 'vm1', device_owner: 'compute:nova', port_security_enabled: true,
      security_groups: [], allowed_address_pairs: [], extra_dhcp_opts: [], 'binding:host_id': '', 'binding:vif_type': 'unbound',
      'binding:vnic_type': 'normal', 'binding:vif_details': {}, 'binding:profile': {}, revision_number: 0,
    });
    expect(p.fixed_ips).toHaveLength(1);
    expect(p.fixed_ips[0].subnet_id).toBe(subnet);
    expect(p.key).toBeUndefined();
    const rec = JSON.parse((await h.store.get(resourceKey('ports', p.id)))!.value) as PortRecord;
    expect((await h.store.get(portKeyKey(rec.key)))!.value).toBe(p.id);
    expect((await h.store.get(macKey(net, p.mac_address)))!.value).toBe(p.id);
  });

  it('explicit MAC and IP: MacAddressInUse and IpAddressInUse; by subnet; invalid addresses', async () => {
    expect((await h.req('POST', '/v2.0/ports', port({ mac_address: 'FA:16:3E:AA:BB:CC', fixed_ips: [{ ip_address: '10.0.0.5' }] }))).body.port)
      .toMatchObject({ mac_address: 'fa:16:3e:aa:bb:cc', fixed_ips: [{ subnet_id: subnet, ip_address: '10.0.0.5' }] });
    expectFault(await h.req('POST', '/v2.0/ports', port({ mac_address: 'fa:16:3e:aa:bb:cc' })), 409, 'MacAddressInUse');
    expectFault(await h.req('POST', '/v2.0/ports', port({ fixed_ips: [{ ip_address: '10.0.0.5' }] })), 409, 'IpAddressInUse');
    expectFault(await h.req('POST', '/v2.0/ports', port({ fixed_ips: [{ subnet_id: subnet, ip_address: '10.0.0.5' }] })), 409, 'IpAddressInUse');
    expect((await h.req('POST', '/v2.0/ports', port({ fixed_ips: [{ subnet_id: subnet }] }))).status).toBe(201);
    expectFault(await h.req('POST', '/v2.0/ports', port({ fixed_ips: [{ ip_address: '10.9.0.5' }] })), 400, 'InvalidIpForNetwork');
    expectFault(await h.req('POST', '/v2.0/ports', port({ fixed_ips: [{ subnet_id: subnet, ip_address: '10.0.0.15' }] })), 400, 'InvalidIpForSubnet');
    expectFault(await h.req('POST', '/v2.0/ports', port({ fixed_ips: [{ subnet_id: '00000000-0000-0000-0000-000000000000' }] })), 400, 'InvalidInput');
    expectFault(await h.req('POST', '/v2.0/ports', port({ mac_address: '01:00:00:00:00:01' })), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/ports', port({ mac_address: 'zz' })), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/ports', port({ status: 'ACTIVE' })), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/ports', port({ network_id: '00000000-0000-0000-0000-000000000000' })), 404, 'NetworkNotFound');
    expectFault(await h.req('POST', '/v2.0/ports', { port: {} }), 400, 'HTTPBadRequest');
    expect((await h.req('GET', '/v2.0/ports')).body.ports).toHaveLength(2);
  });

  it('exhaustion gives IpAddressGenerationFailure and changes nothing', async () => {
    // /28: 13 addresses in the pool (.2-.14).
    for (let i = 0; i < 13; i++) expect((await h.req('POST', '/v2.0/ports', port())).status).toBe(201);
    const before = await h.store.revision();
    expectFault(await h.req('POST', '/v2.0/ports', port()), 409, 'IpAddressGenerationFailure');
    expect(await h.store.revision()).toBe(before);
    // An explicit address outside the pool but inside the subnet still works.
    expect((await h.req('POST', '/v2.0/ports', port({ fixed_ips: [{ ip_address: '10.0.0.1' }] }))).status).toBe(201);
  });

  it('bulk create is atomic and allocates distinct addresses', async () => {
    const r = await h.req('POST', '/v2.0/ports', { ports: [port().port, port().port, port().port] });
    expect(r.status).toBe(201);
    const ips = r.body.ports.map((p: { fixed_ips: { ip_address: string }[] }) => p.fixed_ips[0].ip_address);
    expect(new Set(ips).size).toBe(3);
    const bad = await h.req('POST', '/v2.0/ports', { ports: [port().port, port({ fixed_ips: [{ ip_address: ips[0] }] }).port] });
    expectFault(bad, 409, 'IpAddressInUse');
    expect((await h.req('GET', '/v2.0/ports')).body.ports).toHaveLength(3);
    // Items may come wrapped in the member name, as Neutron accepts.
    const wrapped = await h.req('POST', '/v2.0/ports', { ports: [port(), port().port] });
    expect(wrapped.status).toBe(201);
    expect(wrapped.body.ports).toHaveLength(2);
  });

  it('update: fixed_ips reallocation releases old addresses; MAC change admin only', async () => {
    const p = (await h.req('POST', '/v2.0/ports', port({ fixed_ips: [{ ip_address: '10.0.0.5' }] }))).body.port;
    const u = await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { fixed_ips: [{ ip_address: '10.0.0.6' }], name: 'x' } });
    expect(u.body.port).toMatchObject({ name: 'x', fixed_ips: [{ subnet_id: subnet, ip_address: '10.0.0.6' }], revision_number: 1 });
    expect((await h.req('POST', '/v2.0/ports', port({ fixed_ips: [{ ip_address: '10.0.0.5' }] }))).status).toBe(201);
    expectFault(await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { fixed_ips: [{ ip_address: '10.0.0.5' }] } }), 409, 'IpAddressInUse');
    const m = await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { mac_address: 'fa:16:3e:00:00:01' } });
    expect(m.body.port.mac_address).toBe('fa:16:3e:00:00:01');
    expect(await h.store.get(macKey(net, p.mac_address))).toBeUndefined();
    expectFault(await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { network_id: net } }), 400, 'HTTPBadRequest');
  });

  it('binding: host sets vif_type ovs; admin only; status stays DOWN', async () => {
    const p = (await h.req('POST', '/v2.0/ports', port({ 'binding:host_id': 'hv1', 'binding:vnic_type': 'normal' }))).body.port;
    expect(p).toMatchObject({ 'binding:host_id': 'hv1', 'binding:vif_type': 'ovs', status: 'DOWN' });
    expect(p['binding:vif_details'].bridge_name).toBe('br-int');
    const cleared = await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { 'binding:host_id': '' } });
    expect(cleared.body.port['binding:vif_type']).toBe('unbound');
    expectFault(await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { 'binding:vif_type': 'ovs' } }), 400, 'HTTPBadRequest');
    expectFault(await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { 'binding:vnic_type': 'weird' } }), 400, 'HTTPBadRequest');
  });

  it('port security: inherited from network; address pairs and security groups need it', async () => {
    const insecure = (await h.req('POST', '/v2.0/networks', { network: { port_security_enabled: false } })).body.network.id;
    expect((await h.req('POST', '/v2.0/ports', { port: { network_id: insecure } })).body.port.port_security_enabled).toBe(false);
    const sg = '11111111-2222-3333-4444-555555555555';
    expectFault(await h.req('POST', '/v2.0/ports', port({ port_security_enabled: false, security_groups: [sg] })), 400, 'PortSecurityAndIPRequiredForSecurityGroups');
    expectFault(await h.req('POST', '/v2.0/ports', port({ port_security_enabled: false, allowed_address_pairs: [{ ip_address: '10.0.0.100' }] })), 409, 'AddressPairAndPortSecurityRequired');
    const p = (await h.req('POST', '/v2.0/ports', port({ security_groups: [sg], allowed_address_pairs: [{ ip_address: '10.0.0.0/28' }], extra_dhcp_opts: [{ opt_name: 'mtu', opt_value: '1400' }] }))).body.port;
    expect(p.security_groups).toEqual([sg]);
    expect(p.allowed_address_pairs).toEqual([{ ip_address: '10.0.0.0/28', mac_address: p.mac_address }]);
    expect(p.extra_dhcp_opts).toEqual([{ opt_name: 'mtu', opt_value: '1400', ip_version: 4 }]);
    expectFault(await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { port_security_enabled: false } }), 409, 'PortSecurityPortHasSecurityGroup');
    const ok = await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { port_security_enabled: false, security_groups: [], allowed_address_pairs: [] } });
    expect(ok.body.port).toMatchObject({ port_security_enabled: false, security_groups: [] });
  });

  it('default security group hook is called in the create transaction', async () => {
    const calls: string[] = [];
    h.api.hooks.ensureDefaultSecurityGroup = async (tx, project) => {
      calls.push(project);
      tx.put('/nb/security-groups/default-of-' + project, '{}');
      return 'aaaaaaaa-0000-0000-0000-000000000000';
    };
    const p = (await h.req('POST', '/v2.0/ports', port())).body.port;
    expect(p.security_groups).toEqual(['aaaaaaaa-0000-0000-0000-000000000000']);
    expect(calls).toEqual(['admin']);
    expect(await h.store.get('/nb/security-groups/default-of-admin')).toBeDefined();
    expect((await h.req('POST', '/v2.0/ports', port({ port_security_enabled: false }))).body.port.security_groups).toEqual([]);
  });

  it('delete releases address, MAC and key; 404 afterwards', async () => {
    const p = (await h.req('POST', '/v2.0/ports', port({ fixed_ips: [{ ip_address: '10.0.0.7' }] }))).body.port;
    expect((await h.req('DELETE', `/v2.0/ports/${p.id}`)).status).toBe(204);
    expectFault(await h.req('GET', `/v2.0/ports/${p.id}`), 404, 'PortNotFound');
    expectFault(await h.req('DELETE', `/v2.0/ports/${p.id}`), 404, 'PortNotFound');
    expect((await h.store.range('/ipam/ip/')).kvs).toEqual([]);
    expect((await h.store.range('/ipam/mac/')).kvs).toEqual([]);
    expect((await h.store.range('/ipam/port-key/')).kvs).toEqual([]);
  });
});
