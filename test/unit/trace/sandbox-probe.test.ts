/** The packet `wyvern sandbox trace` builds from north-bound records (src/sandbox/trace.ts, pure part). */
import { describe, expect, it } from 'vitest';
import { buildProbe, parseProto, SandboxTraceError } from '../../../src/sandbox/trace.js';
import { portRec, subnetRec } from '../../support/nb-records.js';

const blue = subnetRec('s-blue', 'n-blue', '10.1.0.0/24', { gateway_ip: '10.1.0.1' });
const red = subnetRec('s-red', 'n-red', '10.2.0.0/24', { gateway_ip: '10.2.0.1' });
const v6 = subnetRec('s-blue6', 'n-blue', 'fd00::/64', { ip_version: 6 });
const vm1 = portRec('p-vm1', 'n-blue', {
  name: 'vm1', mac_address: 'fa:16:3e:00:00:01',
  fixed_ips: [{ subnet_id: 's-blue6', ip_address: 'fd00::5' }, { subnet_id: 's-blue', ip_address: '10.1.0.5' }],
});
const vm3 = portRec('p-vm3', 'n-blue', { name: 'vm3', mac_address: 'fa:16:3e:00:00:03', fixed_ips: [{ subnet_id: 's-blue', ip_address: '10.1.0.7' }] });
const gwBlue = portRec('p-gw', 'n-blue', {
  device_owner: 'network:router_interface_distributed', device_id: 'r1', mac_address: 'fa:16:3e:00:00:aa',
  fixed_ips: [{ subnet_id: 's-blue', ip_address: '10.1.0.1' }],
});
const gwRed = portRec('p-gw-red', 'n-red', {
  device_owner: 'network:router_interface_distributed', device_id: 'r1', mac_address: 'fa:16:3e:00:00:bb',
  fixed_ips: [{ subnet_id: 's-red', ip_address: '10.2.0.1' }],
});
const ports = [vm1, vm3, gwBlue, gwRed];
const subnets = [blue, red, v6];
const probe = (toIp: string, proto = parseProto(undefined), from = vm1, p = ports) => buildProbe({ from, inPort: 'tap1', toIp, proto, ports: p, subnets });

describe('sandbox trace probe', () => {
  it('sends to the peer\'s MAC on the same subnet (an ICMP echo request by default)', () => {
    expect(probe('10.1.0.7')).toEqual({
      flow: 'in_port=tap1,dl_src=fa:16:3e:00:00:01,dl_dst=fa:16:3e:00:00:03,icmp,nw_src=10.1.0.5,nw_dst=10.1.0.7,nw_ttl=64,icmp_type=8,icmp_code=0',
      nextHop: 'port vm3',
    });
  });

  it('sends to the router interface on the VM\'s subnet for another subnet, never the far one', () => {
    const r = probe('10.2.0.9', parseProto('tcp/22'));
    expect(r.flow).toBe('in_port=tap1,dl_src=fa:16:3e:00:00:01,dl_dst=fa:16:3e:00:00:aa,tcp,nw_src=10.1.0.5,nw_dst=10.2.0.9,nw_ttl=64,tp_src=49152,tp_dst=22,tcp_flags=syn');
    expect(r.nextHop).toBe('router interface 10.1.0.1 (fa:16:3e:00:00:aa)');
    expect(probe('10.2.0.9', parseProto('udp/53')).flow).toMatch(/,udp,.*,tp_src=49152,tp_dst=53$/);
  });

  it('says why it cannot build the packet', () => {
    expect(() => probe('10.1.0.99')).toThrow(/no port has 10\.1\.0\.99 on subnet/);
    expect(() => probe('10.2.0.9', undefined, vm1, [vm1, vm3])).toThrow(/no router has an interface on it/);
    expect(() => probe('fd00::7')).toThrow(SandboxTraceError);
    expect(() => probe('10.1.0.7', undefined, portRec('p-x', 'n-blue'))).toThrow(/has no IPv4 address/);
  });

  it('parses PROTO/PORT', () => {
    expect(parseProto('icmp')).toEqual({ proto: 'icmp' });
    expect(parseProto('udp/5353')).toEqual({ proto: 'udp', port: 5353 });
    for (const bad of ['tcp', 'tcp/0', 'tcp/65536', 'sctp/1', 'TCP/22']) expect(() => parseProto(bad)).toThrow(SandboxTraceError);
  });
});
