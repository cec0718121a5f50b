/**
 * The real `openstack` client (python3-openstackclient) against `wyvern server`  on sqlite and on etcd.
 * Each client invocation costs a few seconds of Python start-up, so the lifecycle is compact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliServer, type CliServer } from '../../support/openstack-cli.js';

for (const store of ['sqlite', 'etcd'] as const) {
describe(`openstack CLI against wyvern server (${store})`, () => {
  let cli: CliServer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const os_ = (...args: string[]): Promise<any> => cli.os(...args);
  const osFails = (...args: string[]): Promise<string> => cli.osFails(...args);
  beforeAll(async () => {
    cli = await startCliServer(store);
  });

  afterAll(async () => {
    await cli?.stop();
  });

  it('network create / show / set / list', async () => {
    const n = await os_('network', 'create', 'blue', '-f', 'json');
    expect(n).toMatchObject({ name: 'blue', status: 'ACTIVE', admin_state_up: true, mtu: 1442, shared: false, 'router:external': false, 'provider:network_type': 'geneve' });
    await os_('network', 'set', '--name', 'red', '--description', 'the red one', '--tag', 'demo', 'blue');
    const shown = await os_('network', 'show', 'red', '-f', 'json');
    expect(shown).toMatchObject({ id: n.id, name: 'red', description: 'the red one', tags: ['demo'] });
    expect(shown.revision_number).toBeGreaterThanOrEqual(2);
    const list = await os_('network', 'list', '-f', 'json');
    expect(list).toEqual([{ ID: n.id, Name: 'red', Subnets: [] }]);
  });

  it('subnet create and port create with a fixed IP; errors surface', async () => {
    const s = await os_('subnet', 'create', '--network', 'red', '--subnet-range', '10.0.0.0/24', 's1', '-f', 'json');
    expect(s).toMatchObject({ cidr: '10.0.0.0/24', gateway_ip: '10.0.0.1', ip_version: 4, enable_dhcp: true, allocation_pools: [{ start: '10.0.0.2', end: '10.0.0.254' }] });
    const p = await os_('port', 'create', '--network', 'red', '--fixed-ip', 'subnet=s1,ip-address=10.0.0.10', 'p1', '-f', 'json');
    expect(p).toMatchObject({ name: 'p1', status: 'DOWN', fixed_ips: [{ subnet_id: s.id, ip_address: '10.0.0.10' }] });
    expect(p.mac_address).toMatch(/^fa:16:3e:/);
    const dup = await osFails('port', 'create', '--network', 'red', '--fixed-ip', 'ip-address=10.0.0.10', 'p2');
    expect(dup).toMatch(/10\.0\.0\.10 is in use/);
    const ports = await os_('port', 'list', '--network', 'red', '-f', 'json');
    expect(ports).toHaveLength(1);
    expect(ports[0]).toMatchObject({ Name: 'p1', 'MAC Address': p.mac_address });
    const inUse = await osFails('network', 'delete', 'red');
    expect(inUse).toMatch(/ports still in use|NetworkInUse|Failed to delete/i);
  });

  it('delete everything', async () => {
    await os_('port', 'delete', 'p1');
    await os_('network', 'delete', 'red');
    expect(await os_('network', 'list', '-f', 'json')).toEqual([]);
    expect(await os_('subnet', 'list', '-f', 'json')).toEqual([]);
  });
});
}
