import { describe, expect, it } from 'vitest';
import { answerDhcp, dhcpServerIp, DHCP_SERVER_MAC } from '../../../src/controller/dhcp-responder.js';
import type { NetworkInfo, PortInfo, SubnetInfo } from '../../../src/pipeline/topology.js';
import {
  buildUdpIpv4Ethernet,
  decodeDhcp,
  decodeEthernet,
  encodeDhcp,
  encodeEthernet,
  getDhcpOption,
  macToBytes,
  type DhcpOption,
} from '../../../src/packet/index.js';

const network: NetworkInfo = {
  id: 'net1', name: 'blue', key: 7, adminStateUp: true, mtu: 1442, networkType: 'geneve', segmentationId: 1007, external: false,
};
const subnet: SubnetInfo = {
  id: 'sub1', name: 'blue-v4', networkId: 'net1', ipVersion: 4, cidr: '10.1.0.0/24', gatewayIp: '10.1.0.1', enableDhcp: true,
  dnsNameservers: ['192.0.2.53'], hostRoutes: [{ destination: '172.16.0.0/16', nexthop: '10.1.0.254' }],
};
const port: PortInfo = {
  id: 'p1', name: 'vm1', key: 11, networkId: 'net1', macAddress: 'fa:16:3e:11:22:33',
  fixedIps: [{ subnetId: 'sub1', ipAddress: '10.1.0.5' }], adminStateUp: true, portSecurityEnabled: true,
  allowedAddressPairs: [], deviceOwner: 'compute:nova', deviceId: 'vm1', chassis: 'hv1', extraDhcpOpts: [], securityGroups: [],
};

function clientPacket(type: number, extra: DhcpOption[] = [], mac = port.macAddress, ciaddr = '0.0.0.0'): Buffer {
  const chaddr = Buffer.alloc(16);
  macToBytes(mac)!.copy(chaddr);
  const dhcp = encodeDhcp({
    op: 1, htype: 1, hlen: 6, hops: 0, xid: 0x1234abcd, secs: 0, flags: 0, ciaddr,
    yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr,
    options: [{ type: 'message-type', value: type }, { type: 'parameter-request-list', codes: [1, 3, 6, 26, 121] }, ...extra],
  });
  if (!dhcp.ok) throw dhcp.error;
  const frame = encodeEthernet(buildUdpIpv4Ethernet({
    srcMac: mac, dstMac: 'ff:ff:ff:ff:ff:ff', srcIp: ciaddr, dstIp: '255.255.255.255', srcPort: 68, dstPort: 67, payload: dhcp.value,
  }));
  if (!frame.ok) throw frame.error;
  return frame.value;
}

function decodeReply(frame: Buffer) {
  const eth = decodeEthernet(frame);
  if (!eth.ok || eth.value.payload.type !== 'ipv4' || eth.value.payload.payload.type !== 'udp') throw new Error('not udp');
  const udp = eth.value.payload.payload;
  const dhcp = decodeDhcp(udp.payload);
  if (!dhcp.ok) throw dhcp.error;
  return { eth: eth.value, ip: eth.value.payload, udp, dhcp: dhcp.value };
}

const ctx = { port, network, subnets: new Map([[subnet.id, subnet]]) };

describe('distributed DHCP responder', () => {
  it('offers the port address with mask, router, DNS, MTU, classless routes and lease', () => {
    const out = answerDhcp(clientPacket(1), ctx);
    expect(out.kind).toBe('reply');
    if (out.kind !== 'reply') return;
    const r = decodeReply(out.frame);
    expect(r.eth.src).toBe(DHCP_SERVER_MAC);
    expect(r.eth.dst).toBe(port.macAddress);
    expect(r.udp.srcPort).toBe(67);
    expect(r.udp.dstPort).toBe(68);
    expect(r.dhcp.op).toBe(2);
    expect(r.dhcp.xid).toBe(0x1234abcd);
    expect(r.dhcp.yiaddr).toBe('10.1.0.5');
    expect(getDhcpOption(r.dhcp, 'message-type')?.value).toBe(2);
    expect(getDhcpOption(r.dhcp, 'server-id')?.value).toBe('10.1.0.1');
    expect(getDhcpOption(r.dhcp, 'subnet-mask')?.value).toBe('255.255.255.0');
    expect(getDhcpOption(r.dhcp, 'router')?.addresses).toEqual(['10.1.0.1']);
    expect(getDhcpOption(r.dhcp, 'dns-servers')?.addresses).toEqual(['192.0.2.53']);
    expect(getDhcpOption(r.dhcp, 'mtu')?.value).toBe(1442);
    expect(getDhcpOption(r.dhcp, 'lease-time')?.value).toBe(86400);
    expect(getDhcpOption(r.dhcp, 'classless-routes')?.routes).toEqual([
      { destination: '172.16.0.0/16', router: '10.1.0.254' },
      { destination: '0.0.0.0/0', router: '10.1.0.1' },
    ]);
  });

  it('ACKs a REQUEST for its address and NAKs a request for another', () => {
    const ack = answerDhcp(clientPacket(3, [{ type: 'requested-ip', value: '10.1.0.5' }, { type: 'server-id', value: '10.1.0.1' }]), ctx);
    expect(ack.kind === 'reply' && ack.messageType).toBe(5);
    const nak = answerDhcp(clientPacket(3, [{ type: 'requested-ip', value: '10.1.0.99' }]), ctx);
    expect(nak.kind === 'reply' && nak.messageType).toBe(6);
    if (nak.kind === 'reply') expect(decodeReply(nak.frame).dhcp.yiaddr).toBe('0.0.0.0');
    const renew = answerDhcp(clientPacket(3, [], port.macAddress, '10.1.0.5'), ctx);
    expect(renew.kind === 'reply' && renew.messageType).toBe(5);
  });

  it('answers INFORM without a lease and stays silent for RELEASE, other servers and foreign MACs', () => {
    const inform = answerDhcp(clientPacket(8, [], port.macAddress, '10.1.0.5'), ctx);
    expect(inform.kind).toBe('reply');
    if (inform.kind === 'reply') {
      const r = decodeReply(inform.frame).dhcp;
      expect(r.yiaddr).toBe('0.0.0.0');
      expect(getDhcpOption(r, 'lease-time')).toBeUndefined();
    }
    expect(answerDhcp(clientPacket(7, [], port.macAddress, '10.1.0.5'), ctx).kind).toBe('ignore');
    expect(answerDhcp(clientPacket(3, [{ type: 'server-id', value: '10.9.9.9' }]), ctx).kind).toBe('ignore');
    expect(answerDhcp(clientPacket(1, [], 'fa:16:3e:99:99:99'), ctx).kind).toBe('ignore');
  });

  it('is silent when DHCP is disabled on the subnet and never throws on garbage', () => {
    const off = { ...ctx, subnets: new Map([[subnet.id, { ...subnet, enableDhcp: false }]]) };
    expect(answerDhcp(clientPacket(1), off).kind).toBe('ignore');
    const pkt = clientPacket(1);
    for (let i = 0; i < pkt.length; i++) expect(answerDhcp(pkt.subarray(0, i), ctx).kind).toBe('ignore');
  });

  it('speaks from the last host address when the subnet has no gateway', () => {
    expect(dhcpServerIp({ ...subnet, gatewayIp: null })).toBe('10.1.0.254');
  });
});
