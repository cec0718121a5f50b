/**
 * The real `openstack` client (python3-openstackclient) against `wyvern server` on sqlite and etcd: routers,
 * interfaces, extra routes, gateways, floating IPs, security groups and rules. Each client call
 * costs a few seconds of Python start-up, so the lifecycle is compact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliServer, type CliServer } from '../../support/openstack-cli.js';

for (const store of ['sqlite', 'etcd'] as const) {
describe(`openstack CLI: routers, floating IPs, security groups (${store})`, () => {
  let cli: CliServer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const os_ = (...args: string[]): Promise<any> => cli.os(...args);
  const osFails = (...args: string[]): Promise<string> => cli.osFails(...args);
  beforeAll(async () => {
    cli = await startCliServer(store);
    await os_('network', 'create', '--external', 'public', '-f', 'json');
    await os_('subnet', 'create', '--network', 'public', '--subnet-range', '203.0.113.0/24', 'public-v4', '-f', 'json');
    await os_('network', 'create', 'blue', '-f', 'json');
    await os_('subnet', 'create', '--network', 'blue', '--subnet-range', '10.0.0.0/24', 'blue-v4', '-f', 'json');
  });

  afterAll(async () => {
    await cli?.stop();
  });

  it('router create, add subnet, routes, external gateway; show and list', async () => {
    const r = await os_('router', 'create', 'r1', '-f', 'json');
    expect(r).toMatchObject({ name: 'r1', status: 'ACTIVE', admin_state_up: true, distributed: true, external_gateway_info: null, routes: [] });
    await os_('router', 'add', 'subnet', 'r1', 'blue-v4');
    expect(await osFails('router', 'add', 'subnet', 'r1', 'blue-v4')).toMatch(/already has a port on subnet/);
    await os_('router', 'set', '--route', 'destination=192.168.0.0/16,gateway=10.0.0.5', 'r1');
    expect(await osFails('router', 'set', '--route', 'destination=172.16.0.0/12,gateway=10.9.9.9', 'r1')).toMatch(/nexthop is not connected with router/);
    await os_('router', 'set', '--external-gateway', 'public', 'r1');
    const shown = await os_('router', 'show', 'r1', '-f', 'json');
    const pub = await os_('network', 'show', 'public', '-f', 'json');
    const sub = await os_('subnet', 'show', 'blue-v4', '-f', 'json');
    expect(shown.routes).toEqual([{ destination: '192.168.0.0/16', nexthop: '10.0.0.5' }]);
    expect(shown.external_gateway_info).toMatchObject({ network_id: pub.id, enable_snat: true });
    expect(shown.external_gateway_info.external_fixed_ips[0].ip_address).toMatch(/^203\.0\.113\./);
    expect(shown.interfaces_info).toEqual([expect.objectContaining({ subnet_id: sub.id, ip_address: '10.0.0.1' })]);
    expect(shown.revision_number).toBe(3);
    const list = await os_('router', 'list', '-f', 'json');
    expect(list).toEqual([expect.objectContaining({ ID: r.id, Name: 'r1', Status: 'ACTIVE', State: true })]);
    const ifaces = await os_('port', 'list', '--router', 'r1', '-f', 'json');
    expect(ifaces.map((p: { 'Fixed IP Addresses': unknown }) => p['Fixed IP Addresses'])).toHaveLength(2);
    expect(await osFails('router', 'delete', 'r1')).toMatch(/still has ports/);
  });

  it('floating ip create, set --port, show, list; interface needed while associated', async () => {
    const vm = await os_('port', 'create', '--network', 'blue', 'vm1', '-f', 'json');
    const f = await os_('floating', 'ip', 'create', 'public', '-f', 'json');
    expect(f).toMatchObject({ status: 'DOWN', port_id: null, fixed_ip_address: null, router_id: null });
    expect(f.floating_ip_address).toMatch(/^203\.0\.113\./);
    await os_('floating', 'ip', 'set', '--port', 'vm1', f.id);
    const r = await os_('router', 'show', 'r1', '-f', 'json');
    const shown = await os_('floating', 'ip', 'show', f.floating_ip_address, '-f', 'json');
    expect(shown).toMatchObject({ id: f.id, port_id: vm.id, fixed_ip_address: vm.fixed_ips[0].ip_address, router_id: r.id });
    const list = await os_('floating', 'ip', 'list', '-f', 'json');
    expect(list).toEqual([expect.objectContaining({ ID: f.id, 'Floating IP Address': f.floating_ip_address, 'Fixed IP Address': vm.fixed_ips[0].ip_address, Port: vm.id })]);
    expect(await osFails('router', 'remove', 'subnet', 'r1', 'blue-v4')).toMatch(/required by one or more floating IPs/);
    expect(await osFails('router', 'unset', '--external-gateway', 'r1')).toMatch(/required by one or more floating IPs/);
    await os_('floating', 'ip', 'unset', '--port', f.id);
    expect((await os_('floating', 'ip', 'show', f.id, '-f', 'json')).port_id).toBeNull();
    await os_('floating', 'ip', 'delete', f.id);
    expect(await os_('floating', 'ip', 'list', '-f', 'json')).toEqual([]);
    await os_('port', 'delete', 'vm1');
  });

  it('security group create, rule create --protocol tcp --dst-port 22, list, show, delete', async () => {
    const sg = await os_('security', 'group', 'create', 'web', '-f', 'json');
    expect(sg).toMatchObject({ name: 'web' });
    expect(sg.rules).toHaveLength(2);
    const rule = await os_('security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'web', '-f', 'json');
    expect(rule).toMatchObject({ security_group_id: sg.id, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '0.0.0.0/0' });
    expect(await osFails('security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'web')).toMatch(/already exists/);
    const rules = await os_('security', 'group', 'rule', 'list', 'web', '-f', 'json');
    expect(rules).toHaveLength(3);
    expect(rules).toEqual(expect.arrayContaining([expect.objectContaining({ ID: rule.id, 'IP Protocol': 'tcp', 'Port Range': '22:22', Direction: 'ingress' })]));
    const groups = await os_('security', 'group', 'list', '-f', 'json');
    expect(groups.map((g: { Name: string }) => g.Name).sort()).toEqual(['default', 'web']);
    const def = await os_('security', 'group', 'show', 'default', '-f', 'json');
    expect(def.rules).toHaveLength(4);
    // noauth without a project header is admin, and admin may delete a default group (as in
    // Neutron); the next list makes a new one.
    await os_('security', 'group', 'delete', 'default');
    const again = await os_('security', 'group', 'list', '-f', 'json');
    expect(again.find((g: { Name: string; ID: string }) => g.Name === 'default').ID).not.toBe(def.id);
    // In use by a port.
    await os_('port', 'create', '--network', 'blue', '--security-group', 'web', 'p-web', '-f', 'json');
    expect(await osFails('security', 'group', 'delete', 'web')).toMatch(/in use/);
    await os_('port', 'delete', 'p-web');
    await os_('security', 'group', 'rule', 'delete', rule.id);
    expect(await os_('security', 'group', 'rule', 'list', 'web', '-f', 'json')).toHaveLength(2);
    await os_('security', 'group', 'delete', 'web');
    expect((await os_('security', 'group', 'list', '-f', 'json')).map((g: { Name: string }) => g.Name)).toEqual(['default']);
  });

  it('tear down: unset gateway, remove subnet, delete router', async () => {
    await os_('router', 'unset', '--route', 'destination=192.168.0.0/16,gateway=10.0.0.5', 'r1');
    await os_('router', 'unset', '--external-gateway', 'r1');
    await os_('router', 'remove', 'subnet', 'r1', 'blue-v4');
    const r = await os_('router', 'show', 'r1', '-f', 'json');
    expect(r).toMatchObject({ external_gateway_info: null, routes: [], interfaces_info: [] });
    await os_('router', 'delete', 'r1');
    expect(await os_('router', 'list', '-f', 'json')).toEqual([]);
    // Nothing router-owned is left: the networks delete cleanly.
    await os_('network', 'delete', 'blue', 'public');
    expect(await os_('port', 'list', '-f', 'json')).toEqual([]);
  });
});
}
