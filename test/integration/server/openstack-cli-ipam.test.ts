/**
 * The real `openstack` client (python3-openstackclient) against `wyvern server` on sqlite and etcd:
 * subnet pools (and subnets allocated from them), IP availability, agents and availability zones.
 * Each client call costs a few seconds of Python start-up, so the lifecycle is compact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliServer, type CliServer } from '../../support/openstack-cli.js';

for (const store of ['sqlite', 'etcd'] as const) {
describe(`openstack CLI: subnet pools, IP availability, agents (${store})`, () => {
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

  it('subnet pool create / set / show; subnets allocated from it; delete refused while in use', async () => {
    const p = await os_('subnet', 'pool', 'create', '--pool-prefix', '10.11.12.0/24', '--default-prefix-length', '28', '--max-prefix-length', '30', '--tag', 'lab', 'pool1', '-f', 'json');
    expect(p).toMatchObject({ name: 'pool1', prefixes: ['10.11.12.0/24'], default_prefixlen: 28, min_prefixlen: 8, max_prefixlen: 30, ip_version: 4, is_default: false, shared: false, tags: ['lab'] });
    await os_('subnet', 'pool', 'set', '--pool-prefix', '10.11.13.0/24', 'pool1');
    expect((await os_('subnet', 'pool', 'show', 'pool1', '-f', 'json')).prefixes).toEqual(['10.11.12.0/23']);
    await os_('network', 'create', 'blue', '-f', 'json');
    const s1 = await os_('subnet', 'create', '--network', 'blue', '--subnet-pool', 'pool1', 's1', '-f', 'json');
    expect(s1).toMatchObject({ cidr: '10.11.12.0/28', subnetpool_id: p.id, gateway_ip: '10.11.12.1' });
    await os_('network', 'create', 'red', '-f', 'json');
    const s2 = await os_('subnet', 'create', '--network', 'red', '--subnet-pool', 'pool1', '--prefix-length', '30', 's2', '-f', 'json');
    expect(s2.cidr).toBe('10.11.12.16/30');
    expect(await osFails('subnet', 'create', '--network', 'red', '--subnet-pool', 'pool1', '--prefix-length', '31', 's3')).toMatch(/maximum allowed prefix is 30/);
    expect(await osFails('subnet', 'pool', 'delete', 'pool1')).toMatch(/Subnets are allocated from this pool/);
    const pools = await os_('subnet', 'pool', 'list', '-f', 'json');
    expect(pools).toEqual([{ ID: p.id, Name: 'pool1', Prefixes: ['10.11.12.0/23'] }]);
  });

  it('ip availability list / show', async () => {
    const blue = await os_('network', 'show', 'blue', '-f', 'json');
    const shown = await os_('ip', 'availability', 'show', 'blue', '-f', 'json');
    expect(shown).toMatchObject({ network_id: blue.id, network_name: 'blue', total_ips: 13, used_ips: 0 });
    const list = await os_('ip', 'availability', 'list', '-f', 'json');
    expect(list.map((x: { 'Network Name': string }) => x['Network Name']).sort()).toEqual(['blue', 'red']);
  });

  it('agents and availability zones: none until a controller registers', async () => {
    expect(await os_('network', 'agent', 'list', '-f', 'json')).toEqual([]);
    expect(await os_('availability', 'zone', 'list', '--network', '-f', 'json')).toEqual([]);
  });

  it('delete everything', async () => {
    await os_('subnet', 'delete', 's1', 's2');
    await os_('subnet', 'pool', 'delete', 'pool1');
    await os_('network', 'delete', 'blue', 'red');
    expect(await os_('subnet', 'pool', 'list', '-f', 'json')).toEqual([]);
  });
});
}
