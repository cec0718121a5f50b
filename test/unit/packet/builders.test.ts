import { describe, expect, it } from 'vitest';
import {
  buildArpReply,
  buildArpRequest,
  buildDhcpReply,
  buildIcmpEchoReply,
  buildIcmpError,
  buildIcmpErrorFrame,
  buildNeighborAdvertisement,
  buildUdpIpv4Ethernet,
  decodeDhcp,
  decodeEthernet,
  DhcpMessageType,
  encodeEthernet,
  getDhcpOption,
  type DhcpMessage,
  type EthernetFrame,
} from '../../../src/packet/index.js';
import * as F from './fixtures.js';

function decode(bytes: Buffer): EthernetFrame {
  const r = decodeEthernet(bytes);
  if (!r.ok) throw r.error;
  return r.value;
}

function encode(f: EthernetFrame): Buffer {
  const r = encodeEthernet(f);
  if (!r.ok) throw r.error;
  return r.value;
}

function dhcpRequestFrom(frame: Buffer): DhcpMessage {
  const f = decode(frame);
  if (f.payload.type !== 'ipv4' || f.payload.payload.type !== 'udp') throw new Error('not udp');
  const r = decodeDhcp(f.payload.payload.payload);
  if (!r.ok) throw r.error;
  return r.value;
}

describe('builders', () => {
  it('buildArpReply produces the fixture reply byte for byte', () => {
    const frame = buildArpReply({
      senderMac: 'fa:16:3e:aa:bb:cc',
      senderIp: '10.0.0.1',
      targetMac: '52:54:00:12:34:56',
      targetIp: '10.0.0.5',
      vlan: { pcp: 0, dei: false, vid: 100 },
    });
    expect(encode(frame).toString('hex')).toBe(F.ARP_REPLY_VLAN.toString('hex'));
  });

  it('buildArpRequest matches the fixture request without padding', () => {
    const frame = buildArpRequest({ senderMac: '52:54:00:12:34:56', senderIp: '10.0.0.5', targetIp: '10.0.0.1' });
    expect(encode(frame).toString('hex')).toBe(F.ARP_REQUEST.subarray(0, 42).toString('hex'));
  });

  it('buildIcmpEchoReply answers the ping fixture', () => {
    const r = buildIcmpEchoReply(decode(F.PING_REQUEST));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const reply = decode(encode(r.value));
    expect(reply).toMatchObject({
      dst: 'fa:16:3e:11:22:33',
      src: 'fa:16:3e:00:00:01',
      payload: {
        type: 'ipv4',
        src: '192.168.1.1',
        dst: '192.168.1.10',
        headerChecksumValid: true,
        payload: { type: 'icmp', kind: 'echo-reply', identifier: 0x1c46, sequence: 1, checksumValid: true },
      },
    });
    // Same bytes as the request except addresses, type and checksums: the ICMP data is intact.
    const req = F.PING_REQUEST;
    const out = encode(r.value);
    expect(out.subarray(14 + 28).equals(req.subarray(14 + 28))).toBe(true);
  });

  it('buildIcmpEchoReply answers ICMPv6 echo and refuses other packets', () => {
    const r = buildIcmpEchoReply(decode(F.ICMPV6_ECHO_REQUEST));
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(decode(encode(r.value))).toMatchObject({
        payload: { src: '2001:db8:2::1', dst: '2001:db8:1::10', payload: { kind: 'echo-reply', sequence: 7, checksumValid: true } },
      });
    }
    const no = buildIcmpEchoReply(decode(F.UDP_DNS_QUERY));
    expect(!no.ok && no.error.code).toBe('unsupported');
  });

  it('buildIcmpErrorFrame reproduces the time-exceeded fixture from the probe', () => {
    // The probe the router dropped: its header + 8 bytes are quoted in the fixture; the rest of
    // its 60 bytes are the traceroute payload (zeros here).
    const quoted = F.ICMP_TIME_EXCEEDED.subarray(14 + 20 + 8);
    const probe = Buffer.concat([
      Buffer.from('fa163eaabbcc' + '525400123456' + '0800', 'hex'),
      quoted,
      Buffer.alloc(60 - quoted.length),
    ]);
    const r = buildIcmpErrorFrame('time-exceeded', probe, { routerIp: '10.0.0.1', routerMac: 'fa:16:3e:aa:bb:cc' });
    expect(r.ok).toBe(true);
    if (r.ok) expect(encode(r.value).toString('hex')).toBe(F.ICMP_TIME_EXCEEDED.toString('hex'));
  });

  it('buildIcmpErrorFrame reproduces the fragmentation-needed fixture from the big segment', () => {
    const quoted = F.ICMP_FRAG_NEEDED.subarray(14 + 20 + 8);
    const big = Buffer.concat([Buffer.from('fa163eaabbcc' + '525400123456' + '0800', 'hex'), quoted, Buffer.alloc(1500 - quoted.length)]);
    const r = buildIcmpErrorFrame('dest-unreachable', big, { routerIp: '10.0.0.1', routerMac: 'fa:16:3e:aa:bb:cc', code: 4, nextHopMtu: 1400 });
    expect(r.ok).toBe(true);
    if (r.ok) expect(encode(r.value).toString('hex')).toBe(F.ICMP_FRAG_NEEDED.toString('hex'));
  });

  it('buildIcmpError: unreachable with MTU, and the RFC 1122 refusals', () => {
    const ip = F.TCP_SYN.subarray(14);
    const r = buildIcmpError('dest-unreachable', ip, { routerIp: '10.0.0.1', code: 4, nextHopMtu: 1400 });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value).toMatchObject({ dst: '10.0.0.5', payload: { kind: 'dest-unreachable', code: 4, nextHopMtu: 1400 } });
      const p = r.value.payload;
      expect(p.type === 'icmp' && p.kind === 'dest-unreachable' && p.original.equals(ip.subarray(0, 28))).toBe(true);
    }
    // about an ICMP error
    const aboutError = buildIcmpError('time-exceeded', F.ICMP_TIME_EXCEEDED.subarray(14), { routerIp: '10.0.0.1' });
    expect(!aboutError.ok && aboutError.error.code).toBe('unsupported');
    // about an echo request: fine
    expect(buildIcmpError('time-exceeded', F.PING_REQUEST.subarray(14), { routerIp: '10.0.0.1' }).ok).toBe(true);
    // non-first fragment
    const frag = Buffer.from(ip);
    frag.writeUInt16BE(0x0010, 6);
    expect(buildIcmpError('time-exceeded', frag, { routerIp: '10.0.0.1' }).ok).toBe(false);
    // from 0.0.0.0 (the DHCP DISCOVER)
    expect(buildIcmpError('dest-unreachable', F.DHCP_DISCOVER.subarray(14), { routerIp: '10.0.0.1' }).ok).toBe(false);
    // garbage never throws
    expect(buildIcmpError('time-exceeded', Buffer.alloc(3), { routerIp: '10.0.0.1' }).ok).toBe(false);
    expect(buildIcmpErrorFrame('time-exceeded', F.ND_NS, { routerIp: '10.0.0.1', routerMac: 'fa:16:3e:aa:bb:cc' }).ok).toBe(false);
  });

  it('buildUdpIpv4Ethernet matches the DNS fixture', () => {
    const f = decode(F.UDP_DNS_QUERY);
    const udp = f.payload.type === 'ipv4' && f.payload.payload.type === 'udp' ? f.payload.payload : null;
    const frame = buildUdpIpv4Ethernet({
      srcMac: '52:54:00:12:34:56',
      dstMac: 'fa:16:3e:aa:bb:cc',
      srcIp: '10.0.0.5',
      dstIp: '10.0.0.2',
      srcPort: 53124,
      dstPort: 53,
      identification: 0x1234,
      payload: udp?.payload ?? Buffer.alloc(0),
    });
    expect(encode(frame).toString('hex')).toBe(F.UDP_DNS_QUERY.toString('hex'));
  });

  it('buildNeighborAdvertisement matches the NA fixture', () => {
    const frame = buildNeighborAdvertisement({
      srcMac: 'fa:16:3e:aa:bb:cc',
      target: 'fe80::f816:3eff:feaa:bbcc',
      dstMac: '52:54:00:12:34:56',
      dstIp: 'fe80::5054:ff:fe12:3456',
    });
    expect(encode(frame).toString('hex')).toBe(F.ND_NA.toString('hex'));
  });

  it('buildDhcpReply offers to the dhclient DISCOVER', () => {
    const discover = dhcpRequestFrom(F.DHCP_DISCOVER);
    const r = buildDhcpReply(discover, {
      messageType: DhcpMessageType.OFFER,
      serverMac: 'fa:16:3e:00:00:01',
      serverIp: '192.168.1.1',
      yourIp: '192.168.1.10',
      options: [
        { type: 'lease-time', value: 86400 },
        { type: 'subnet-mask', value: '255.255.255.0' },
        { type: 'router', addresses: ['192.168.1.1'] },
        { type: 'classless-routes', routes: [{ destination: '0.0.0.0/0', router: '192.168.1.1' }, { destination: '169.254.169.254/32', router: '192.168.1.2' }] },
      ],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const bytes = encode(r.value);
    const f = decode(bytes);
    expect(f).toMatchObject({
      dst: '52:54:00:12:34:56',
      src: 'fa:16:3e:00:00:01',
      payload: { src: '192.168.1.1', dst: '192.168.1.10', payload: { type: 'udp', srcPort: 67, dstPort: 68, checksumValid: true } },
    });
    const offer = f.payload.type === 'ipv4' && f.payload.payload.type === 'udp' ? decodeDhcp(f.payload.payload.payload) : null;
    expect(offer?.ok).toBe(true);
    if (!offer?.ok) return;
    expect(offer.value).toMatchObject({ op: 2, xid: 0x3903f326, yiaddr: '192.168.1.10', flags: 0 });
    expect(offer.value.options.map((o) => o.type)).toEqual(['message-type', 'server-id', 'lease-time', 'subnet-mask', 'router', 'classless-routes']);
    expect(getDhcpOption(offer.value, 'classless-routes')?.routes[1]).toEqual({ destination: '169.254.169.254/32', router: '192.168.1.2' });
    expect(f.payload.type === 'ipv4' && f.payload.payload.type === 'udp' && f.payload.payload.payload.length).toBe(300);
  });

  it('buildDhcpReply broadcasts NAKs and replies to broadcast-flag requests, echoes client-id', () => {
    const discover = dhcpRequestFrom(F.DHCP_DISCOVER);
    const withFlag: DhcpMessage = { ...discover, flags: 0x8000, options: [...discover.options, { type: 'client-id', data: Buffer.from('01525400123456', 'hex') }] };
    for (const [req, type] of [
      [discover, DhcpMessageType.NAK],
      [withFlag, DhcpMessageType.ACK],
    ] as const) {
      const r = buildDhcpReply(req, { messageType: type, serverMac: 'fa:16:3e:00:00:01', serverIp: '192.168.1.1', yourIp: '192.168.1.10' });
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      expect(r.value).toMatchObject({ dst: 'ff:ff:ff:ff:ff:ff', payload: { dst: '255.255.255.255' } });
    }
    const ack = buildDhcpReply(withFlag, { messageType: DhcpMessageType.ACK, serverMac: 'fa:16:3e:00:00:01', serverIp: '192.168.1.1', yourIp: '192.168.1.10' });
    const f = ack.ok ? decode(encode(ack.value)) : null;
    const msg = f?.payload.type === 'ipv4' && f.payload.payload.type === 'udp' ? decodeDhcp(f.payload.payload.payload) : null;
    expect(msg?.ok && getDhcpOption(msg.value, 'client-id')?.data.toString('hex')).toBe('01525400123456');
    // relay without a relay MAC is refused, with one it goes to giaddr:67
    const relayed: DhcpMessage = { ...discover, giaddr: '192.168.1.254' };
    expect(buildDhcpReply(relayed, { messageType: 2, serverMac: 'fa:16:3e:00:00:01', serverIp: '192.168.1.1', yourIp: '192.168.1.10' }).ok).toBe(false);
    const viaRelay = buildDhcpReply(relayed, {
      messageType: 2,
      serverMac: 'fa:16:3e:00:00:01',
      serverIp: '192.168.1.1',
      yourIp: '192.168.1.10',
      relayMac: 'fa:16:3e:00:00:fe',
    });
    expect(viaRelay.ok && viaRelay.value).toMatchObject({ dst: 'fa:16:3e:00:00:fe', payload: { dst: '192.168.1.254', payload: { dstPort: 67 } } });
  });

  it('encoders report bad addresses as typed errors', () => {
    const frame = buildArpReply({ senderMac: 'nope', senderIp: '10.0.0.1', targetMac: '52:54:00:12:34:56', targetIp: '10.0.0.5' });
    const r = encodeEthernet(frame);
    expect(!r.ok && r.error.code).toBe('bad-address');
    const bad = buildUdpIpv4Ethernet({ srcMac: '52:54:00:12:34:56', dstMac: 'fa:16:3e:aa:bb:cc', srcIp: '10.0.0.300', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2, payload: Buffer.alloc(0) });
    const r2 = encodeEthernet(bad);
    expect(!r2.ok && r2.error.code).toBe('bad-address');
    const big = buildUdpIpv4Ethernet({ srcMac: '52:54:00:12:34:56', dstMac: 'fa:16:3e:aa:bb:cc', srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2, payload: Buffer.alloc(70000) });
    const r3 = encodeEthernet(big);
    expect(!r3.ok && r3.error.code).toBe('bad-length');
  });
});
