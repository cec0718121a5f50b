import { describe, expect, it } from 'vitest';
import {
  decodeDhcp,
  decodeEthernet,
  encodeDhcp,
  encodeEthernet,
  PacketError,
  TCP_SYN,
  type EthernetFrame,
} from '../../../src/packet/index.js';
import * as F from './fixtures.js';

/** Independent RFC 1071 checksum used to cross-check fixtures and encoder output. */
function refChecksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function decode(bytes: Buffer): EthernetFrame {
  const r = decodeEthernet(bytes);
  if (!r.ok) throw r.error;
  return r.value;
}

interface Case {
  readonly name: string;
  readonly bytes: Buffer;
  /** Bytes that belong to the packet proper (the rest is Ethernet padding). */
  readonly meaningful: number;
  readonly expected: unknown;
}

const cases: Case[] = [
  {
    name: 'ARP request (padded)',
    bytes: F.ARP_REQUEST,
    meaningful: 42,
    expected: {
      dst: 'ff:ff:ff:ff:ff:ff',
      src: '52:54:00:12:34:56',
      etherType: 0x0806,
      payload: { type: 'arp', operation: 1, senderMac: '52:54:00:12:34:56', senderIp: '10.0.0.5', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.1' },
      trailer: Buffer.alloc(18),
    },
  },
  {
    name: 'ARP reply on VLAN 100',
    bytes: F.ARP_REPLY_VLAN,
    meaningful: 46,
    expected: {
      vlan: { tpid: 0x8100, pcp: 0, dei: false, vid: 100 },
      payload: { type: 'arp', operation: 2, senderMac: 'fa:16:3e:aa:bb:cc', senderIp: '10.0.0.1', targetIp: '10.0.0.5' },
    },
  },
  {
    name: 'ICMP echo request (iputils ping)',
    bytes: F.PING_REQUEST,
    meaningful: 98,
    expected: {
      payload: {
        type: 'ipv4',
        totalLength: 84,
        identification: 0x5c2b,
        dontFragment: true,
        ttl: 64,
        protocol: 1,
        headerChecksumValid: true,
        src: '192.168.1.10',
        dst: '192.168.1.1',
        payload: { type: 'icmp', kind: 'echo-request', identifier: 0x1c46, sequence: 1, checksumValid: true },
      },
    },
  },
  {
    name: 'ICMP time exceeded',
    bytes: F.ICMP_TIME_EXCEEDED,
    meaningful: 70,
    expected: {
      payload: {
        dscp: 48,
        src: '10.0.0.1',
        payload: { type: 'icmp', kind: 'time-exceeded', code: 0, checksumValid: true },
      },
    },
  },
  {
    name: 'ICMP fragmentation needed',
    bytes: F.ICMP_FRAG_NEEDED,
    meaningful: F.ICMP_FRAG_NEEDED.length,
    expected: {
      payload: {
        type: 'ipv4',
        protocol: 1,
        headerChecksumValid: true,
        payload: { type: 'icmp', kind: 'dest-unreachable', code: 4, nextHopMtu: 1400, checksumValid: true },
      },
    },
  },
  {
    name: 'IPv4 with Router Alert option, IGMP raw',
    bytes: F.IGMP_WITH_ROUTER_ALERT,
    meaningful: 46,
    expected: {
      payload: {
        type: 'ipv4',
        ttl: 1,
        protocol: 2,
        options: Buffer.from([0x94, 0x04, 0, 0]),
        headerChecksumValid: true,
        payload: { type: 'raw', data: Buffer.from('1600f8faef010203', 'hex') },
      },
      trailer: Buffer.alloc(14),
    },
  },
  {
    name: 'UDP DNS query',
    bytes: F.UDP_DNS_QUERY,
    meaningful: F.UDP_DNS_QUERY.length,
    expected: { payload: { payload: { type: 'udp', srcPort: 53124, dstPort: 53, length: 37, checksumValid: true } } },
  },
  {
    name: 'UDP without checksum',
    bytes: F.UDP_NO_CHECKSUM,
    meaningful: 47,
    expected: { payload: { payload: { type: 'udp', checksum: 0, checksumValid: true, payload: Buffer.from('hello') } } },
  },
  {
    name: 'TCP SYN with options',
    bytes: F.TCP_SYN,
    meaningful: 74,
    expected: {
      payload: {
        payload: {
          type: 'tcp',
          srcPort: 41234,
          dstPort: 80,
          seq: 0x5e0a7c31,
          ack: 0,
          flags: TCP_SYN,
          window: 64240,
          checksumValid: true,
          urgentPointer: 0,
          options: Buffer.from('020405b404020' + '80a0012d687000000000103' + '0307', 'hex'),
          payload: Buffer.alloc(0),
        },
      },
    },
  },
  {
    name: 'DHCP DISCOVER (dhclient)',
    bytes: F.DHCP_DISCOVER,
    meaningful: F.DHCP_DISCOVER.length,
    expected: {
      dst: 'ff:ff:ff:ff:ff:ff',
      payload: { src: '0.0.0.0', dst: '255.255.255.255', payload: { type: 'udp', srcPort: 68, dstPort: 67, checksumValid: true } },
    },
  },
  {
    name: 'DHCP ACK with routes',
    bytes: F.DHCP_ACK_ROUTES,
    meaningful: F.DHCP_ACK_ROUTES.length,
    expected: { payload: { payload: { type: 'udp', srcPort: 67, dstPort: 68, checksumValid: true } } },
  },
  {
    name: 'IPv6 Neighbor Solicitation',
    bytes: F.ND_NS,
    meaningful: F.ND_NS.length,
    expected: {
      etherType: 0x86dd,
      payload: {
        type: 'ipv6',
        hopLimit: 255,
        src: 'fe80::5054:ff:fe12:3456',
        dst: 'ff02::1:ffaa:bbcc',
        payload: {
          type: 'icmpv6',
          kind: 'neighbor-solicitation',
          target: 'fe80::f816:3eff:feaa:bbcc',
          checksumValid: true,
          options: [{ type: 'source-lla', mac: '52:54:00:12:34:56' }],
        },
      },
    },
  },
  {
    name: 'IPv6 Neighbor Advertisement',
    bytes: F.ND_NA,
    meaningful: F.ND_NA.length,
    expected: {
      payload: {
        payload: {
          kind: 'neighbor-advertisement',
          router: false,
          solicited: true,
          override: true,
          checksumValid: true,
          options: [{ type: 'target-lla', mac: 'fa:16:3e:aa:bb:cc' }],
        },
      },
    },
  },
  {
    name: 'IPv6 Router Solicitation',
    bytes: F.ND_RS,
    meaningful: F.ND_RS.length,
    expected: { payload: { dst: 'ff02::2', payload: { kind: 'router-solicitation', checksumValid: true, options: [{ type: 'source-lla' }] } } },
  },
  {
    name: 'IPv6 Router Advertisement',
    bytes: F.ND_RA,
    meaningful: F.ND_RA.length,
    expected: {
      payload: {
        payload: {
          kind: 'router-advertisement',
          curHopLimit: 64,
          managed: false,
          other: false,
          routerLifetime: 1800,
          checksumValid: true,
          options: [
            { type: 'source-lla', mac: 'fa:16:3e:00:00:01' },
            { type: 'mtu', mtu: 1500 },
            { type: 'prefix-info', prefixLength: 64, onLink: true, autonomous: true, validLifetime: 2592000, preferredLifetime: 604800, prefix: '2001:db8:1::' },
          ],
        },
      },
    },
  },
  {
    name: 'ICMPv6 echo request',
    bytes: F.ICMPV6_ECHO_REQUEST,
    meaningful: F.ICMPV6_ECHO_REQUEST.length,
    expected: {
      payload: {
        flowLabel: 0x12345,
        src: '2001:db8:1::10',
        dst: '2001:db8:2::1',
        payload: { kind: 'echo-request', identifier: 0x0a0b, sequence: 7, checksumValid: true },
      },
    },
  },
  {
    name: 'UDP over IPv6',
    bytes: F.UDP6_DHCPV6_SOLICIT,
    meaningful: F.UDP6_DHCPV6_SOLICIT.length,
    expected: { payload: { nextHeader: 17, payload: { type: 'udp', srcPort: 546, dstPort: 547, checksumValid: true } } },
  },
  {
    name: 'IPv6 hop-by-hop (raw payload)',
    bytes: F.IPV6_HOP_BY_HOP_MLD,
    meaningful: F.IPV6_HOP_BY_HOP_MLD.length,
    expected: { payload: { type: 'ipv6', nextHeader: 0, payloadLength: 36, payload: { type: 'raw' } } },
  },
];

describe('fixtures', () => {
  for (const c of cases) {
    describe(c.name, () => {
      it('decodes to the expected structure', () => {
        expect(decode(c.bytes)).toMatchObject(c.expected as object);
      });

      it('encodes back to the same bytes', () => {
        const r = encodeEthernet(decode(c.bytes));
        expect(r.ok && r.value.toString('hex')).toBe(c.bytes.toString('hex'));
      });

      it('every truncation into the packet decodes to a typed error, never throws', () => {
        for (let n = 0; n < c.bytes.length; n++) {
          const r = decodeEthernet(Buffer.from(c.bytes.subarray(0, n)));
          if (n < c.meaningful) {
            expect(r.ok, `truncated to ${n}`).toBe(false);
            if (!r.ok) {
              expect(r.error).toBeInstanceOf(PacketError);
              expect(['truncated', 'bad-length']).toContain(r.error.code);
            }
          } else {
            expect(r.ok, `padding-only truncation to ${n}`).toBe(true);
          }
        }
      });
    });
  }

  it('header checksums in the fixtures agree with an independent implementation', () => {
    for (const c of cases) {
      const f = decode(c.bytes);
      if (f.payload.type !== 'ipv4') continue;
      const off = f.vlan ? 18 : 14;
      const hlen = (c.bytes[off] & 15) * 4;
      expect(refChecksum(c.bytes.subarray(off, off + hlen)), c.name).toBe(0);
    }
  });

  it('flags a bad IPv4 header checksum without rejecting', () => {
    const b = Buffer.from(F.PING_REQUEST);
    b[14 + 10] ^= 0xff;
    const f = decode(b);
    expect(f.payload.type === 'ipv4' && f.payload.headerChecksumValid).toBe(false);
    // and the encoder repairs it
    const again = encodeEthernet(f);
    expect(again.ok && again.value.equals(F.PING_REQUEST)).toBe(true);
  });

  it('flags bad L4 checksums (UDP, TCP, ICMP, ICMPv6)', () => {
    const flip = (bytes: Buffer, at: number): EthernetFrame => {
      const b = Buffer.from(bytes);
      b[b.length - at] ^= 0x01;
      return decode(b);
    };
    const l4 = (f: EthernetFrame): unknown =>
      f.payload.type === 'ipv4' || f.payload.type === 'ipv6' ? f.payload.payload : undefined;
    expect(l4(flip(F.UDP_DNS_QUERY, 1))).toMatchObject({ checksumValid: false });
    expect(l4(flip(F.TCP_SYN, 1))).toMatchObject({ checksumValid: false });
    expect(l4(flip(F.PING_REQUEST, 1))).toMatchObject({ checksumValid: false });
    expect(l4(flip(F.ND_NS, 1))).toMatchObject({ checksumValid: false });
    expect(l4(flip(F.UDP6_DHCPV6_SOLICIT, 1))).toMatchObject({ checksumValid: false });
    const noVerify = decodeEthernet(F.UDP_DNS_QUERY, { verifyChecksums: false });
    expect(noVerify.ok && l4(noVerify.value)).toMatchObject({ checksumValid: undefined });
  });

  it('ICMP time exceeded carries the quoted IP header + 8 bytes', () => {
    const f = decode(F.ICMP_TIME_EXCEEDED);
    const icmp = f.payload.type === 'ipv4' ? f.payload.payload : undefined;
    expect(icmp?.type === 'icmp' && icmp.kind === 'time-exceeded').toBe(true);
    if (icmp?.type !== 'icmp' || icmp.kind !== 'time-exceeded') return;
    expect(icmp.original.length).toBe(28);
    expect(icmp.original.subarray(12, 20).toString('hex')).toBe('0a00000508080808');
  });
});

function dhcpOf(frame: Buffer): Buffer {
  const f = decode(frame);
  if (f.payload.type !== 'ipv4' || f.payload.payload.type !== 'udp') throw new Error('not udp');
  return f.payload.payload.payload;
}

describe('DHCP fixtures', () => {
  it('decodes the dhclient DISCOVER', () => {
    const r = decodeDhcp(dhcpOf(F.DHCP_DISCOVER));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({
      op: 1,
      htype: 1,
      hlen: 6,
      xid: 0x3903f326,
      flags: 0,
      ciaddr: '0.0.0.0',
      options: [
        { type: 'message-type', value: 1 },
        { type: 'requested-ip', value: '192.168.1.10' },
        { type: 'hostname', value: 'vm01' },
        { type: 'parameter-request-list', codes: [1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42] },
      ],
    });
    expect(r.value.chaddr.subarray(0, 6).toString('hex')).toBe('525400123456');
    expect(r.value.trailer?.length).toBe(300 - 240 - 3 - 6 - 6 - 15 - 1);
  });

  it('decodes the ACK with RFC 3442 classless routes and option 33', () => {
    const r = decodeDhcp(dhcpOf(F.DHCP_ACK_ROUTES));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const via = '192.168.1.1';
    expect(r.value.yiaddr).toBe('192.168.1.10');
    expect(r.value.options).toEqual([
      { type: 'message-type', value: 5 },
      { type: 'server-id', value: via },
      { type: 'lease-time', value: 86400 },
      { type: 'renewal-time', value: 43200 },
      { type: 'rebinding-time', value: 75600 },
      { type: 'subnet-mask', value: '255.255.255.0' },
      { type: 'broadcast-address', value: '192.168.1.255' },
      { type: 'router', addresses: [via] },
      { type: 'dns-servers', addresses: [via, '8.8.8.8'] },
      { type: 'domain-name', value: 'example.org' },
      { type: 'mtu', value: 1500 },
      {
        type: 'classless-routes',
        routes: [
          { destination: '10.17.0.0/16', router: via },
          { destination: '10.27.129.0/24', router: via },
          { destination: '10.229.0.128/25', router: via },
          { destination: '10.198.122.47/32', router: via },
          { destination: '0.0.0.0/0', router: via },
        ],
      },
      {
        type: 'static-routes',
        routes: [
          { destination: '10.0.0.0', router: '192.168.1.254' },
          { destination: '172.16.5.5', router: '192.168.1.253' },
        ],
      },
      { type: 'domain-search', domains: ['example.org', 'com'] },
      { type: 'raw', code: 224, data: Buffer.from([1, 2, 3]) },
    ]);
    expect(r.value.trailer?.length).toBe(0);
  });

  it('DHCP messages re-encode to the same bytes', () => {
    for (const frame of [F.DHCP_DISCOVER, F.DHCP_ACK_ROUTES]) {
      const raw = dhcpOf(frame);
      const r = decodeDhcp(raw);
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      const enc = encodeDhcp(r.value);
      expect(enc.ok && enc.value.toString('hex')).toBe(raw.toString('hex'));
    }
  });

  it('every truncation of a DHCP message decodes to a typed error', () => {
    for (const frame of [F.DHCP_DISCOVER, F.DHCP_ACK_ROUTES]) {
      const raw = dhcpOf(frame);
      const r0 = decodeDhcp(raw);
      if (!r0.ok) throw r0.error;
      const endAt = raw.length - (r0.value.trailer?.length ?? 0);
      for (let n = 0; n < endAt; n++) {
        const r = decodeDhcp(Buffer.from(raw.subarray(0, n)));
        expect(r.ok, `truncated to ${n}`).toBe(false);
        if (!r.ok) expect(r.error.code).toBe('truncated');
      }
    }
  });

  it('splits options longer than 255 bytes and joins them back (RFC 3396)', () => {
    const base = decodeDhcp(dhcpOf(F.DHCP_ACK_ROUTES));
    if (!base.ok) throw base.error;
    const routes = Array.from({ length: 40 }, (_, i) => ({ destination: `10.${i}.0.0/16`, router: '192.168.1.1' }));
    const msg = { ...base.value, options: [{ type: 'classless-routes' as const, routes }, { type: 'message-type' as const, value: 5 }] };
    const enc = encodeDhcp(msg);
    if (!enc.ok) throw enc.error;
    // 40 routes x 7 bytes = 280 bytes: code 121 twice (255 + 25 bytes)
    expect(enc.value.subarray(240, 242).toString('hex')).toBe('79ff');
    expect(enc.value.subarray(240 + 257, 240 + 259).toString('hex')).toBe('7919');
    const dec = decodeDhcp(enc.value);
    expect(dec.ok && dec.value.options).toEqual(msg.options);
  });

  it('rejects a bad magic cookie', () => {
    const raw = Buffer.from(dhcpOf(F.DHCP_DISCOVER));
    raw[236] = 0;
    const r = decodeDhcp(raw);
    expect(!r.ok && r.error.code).toBe('bad-header');
  });
});
