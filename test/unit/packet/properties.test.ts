import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bytesToIpv6,
  decodeArp,
  decodeDhcp,
  decodeEthernet,
  decodeIcmp,
  decodeIcmpv6,
  decodeIpv4,
  decodeIpv6,
  decodeTcp,
  decodeUdp,
  encodeDhcp,
  encodeEthernet,
  intToIpv4,
  prefixMask,
  type DhcpMessage,
  type DhcpOption,
  type EthernetFrame,
  type IcmpMessage,
  type Icmpv6Message,
  type Ipv4Packet,
  type Ipv6Packet,
  type NdOption,
  type TcpSegment,
  type UdpDatagram,
} from '../../../src/packet/index.js';
import * as F from './fixtures.js';

const FIXTURES = Object.values(F).filter((v): v is Buffer => Buffer.isBuffer(v));
const RUNS = { numRuns: 300 };

// ------------------------------------------------------------------ arbitraries

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (max: number, min = 0): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const words = (maxWords: number): fc.Arbitrary<Buffer> => fc.integer({ min: 0, max: maxWords }).chain((n) => bytes(n * 4, n * 4));
const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const mac = fc.array(u8, { minLength: 6, maxLength: 6 }).map((b) => b.map(hex2).join(':'));
const ipv4 = u32.map(intToIpv4);
const ipv6 = bytes(16, 16).map((b) => bytesToIpv6(b));
const notIn = (set: number[], arb: fc.Arbitrary<number>): fc.Arbitrary<number> => arb.filter((x) => !set.includes(x));

/** Over IPv4, sometimes with checksum 0 ("none"), which the encoder must keep. */
const udp = (v4: boolean): fc.Arbitrary<UdpDatagram> =>
  fc
    .record({ type: fc.constant('udp' as const), srcPort: u16, dstPort: u16, payload: bytes(64), none: fc.boolean() })
    .map(({ none, ...u }) => (v4 && none ? { ...u, checksum: 0 } : u));

const tcp: fc.Arbitrary<TcpSegment> = fc.record({
  type: fc.constant('tcp' as const),
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0x1ff }),
  window: u16,
  urgentPointer: u16,
  options: words(10),
  payload: bytes(64),
});

const icmp: fc.Arbitrary<IcmpMessage> = fc.oneof(
  fc.record({
    type: fc.constant('icmp' as const),
    kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const),
    code: u8,
    identifier: u16,
    sequence: u16,
    data: bytes(64),
  }),
  fc.record({ type: fc.constant('icmp' as const), kind: fc.constant('dest-unreachable' as const), code: u8, nextHopMtu: u16, original: bytes(40) }),
  fc.record({ type: fc.constant('icmp' as const), kind: fc.constant('time-exceeded' as const), code: u8, original: bytes(40) }),
  fc.record({ type: fc.constant('icmp' as const), kind: fc.constant('other' as const), icmpType: notIn([0, 3, 8, 11], u8), code: u8, rest: u32, data: bytes(32) }),
);

const ndOption: fc.Arbitrary<NdOption> = fc.oneof(
  fc.record({ type: fc.constantFrom('source-lla' as const, 'target-lla' as const), mac }),
  fc.record({ type: fc.constant('mtu' as const), mtu: u32 }),
  fc.record({
    type: fc.constant('prefix-info' as const),
    prefixLength: u8,
    onLink: fc.boolean(),
    autonomous: fc.boolean(),
    validLifetime: u32,
    preferredLifetime: u32,
    prefix: ipv6,
  }),
  fc.record({
    type: fc.constant('raw' as const),
    optType: notIn([1, 2, 3, 5], u8),
    data: fc.integer({ min: 1, max: 4 }).chain((n) => bytes(n * 8 - 2, n * 8 - 2)),
  }),
);
const ndOptions = fc.array(ndOption, { maxLength: 4 });

const icmpv6: fc.Arbitrary<Icmpv6Message> = fc.oneof(
  fc.record({
    type: fc.constant('icmpv6' as const),
    kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const),
    code: u8,
    identifier: u16,
    sequence: u16,
    data: bytes(64),
  }),
  fc.record({ type: fc.constant('icmpv6' as const), kind: fc.constant('router-solicitation' as const), code: u8, options: ndOptions }),
  fc.record({
    type: fc.constant('icmpv6' as const),
    kind: fc.constant('router-advertisement' as const),
    code: u8,
    curHopLimit: u8,
    managed: fc.boolean(),
    other: fc.boolean(),
    routerLifetime: u16,
    reachableTime: u32,
    retransTimer: u32,
    options: ndOptions,
  }),
  fc.record({ type: fc.constant('icmpv6' as const), kind: fc.constant('neighbor-solicitation' as const), code: u8, target: ipv6, options: ndOptions }),
  fc.record({
    type: fc.constant('icmpv6' as const),
    kind: fc.constant('neighbor-advertisement' as const),
    code: u8,
    router: fc.boolean(),
    solicited: fc.boolean(),
    override: fc.boolean(),
    target: ipv6,
    options: ndOptions,
  }),
  fc.record({ type: fc.constant('icmpv6' as const), kind: fc.constant('other' as const), code: u8, icmpType: notIn([128, 129, 133, 134, 135, 136], u8), body: bytes(40) }),
);

const ipv4Common = {
  type: fc.constant('ipv4' as const),
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  identification: u16,
  dontFragment: fc.boolean(),
  ttl: u8,
  src: ipv4,
  dst: ipv4,
  options: words(10),
};
const ipv4Packet: fc.Arbitrary<Ipv4Packet> = fc.oneof(
  fc.record({
    ...ipv4Common,
    moreFragments: fc.constant(false),
    fragmentOffset: fc.constant(0),
    payload: fc.oneof(udp(true), tcp, icmp),
  }).map((p) => ({ ...p, protocol: p.payload.type === 'udp' ? 17 : p.payload.type === 'tcp' ? 6 : 1 })),
  fc.record({
    ...ipv4Common,
    moreFragments: fc.boolean(),
    fragmentOffset: fc.integer({ min: 0, max: 0x1fff }),
    protocol: notIn([1, 6, 17], u8),
    payload: fc.record({ type: fc.constant('raw' as const), data: bytes(64) }),
  }),
);

const ipv6Packet: fc.Arbitrary<Ipv6Packet> = fc
  .record({
    type: fc.constant('ipv6' as const),
    trafficClass: u8,
    flowLabel: fc.integer({ min: 0, max: 0xfffff }),
    hopLimit: u8,
    src: ipv6,
    dst: ipv6,
    rawNext: notIn([6, 17, 58], u8),
    payload: fc.oneof(udp(false), tcp, icmpv6, fc.record({ type: fc.constant('raw' as const), data: bytes(64) })),
  })
  .map(({ rawNext, ...p }) => ({
    ...p,
    nextHeader: p.payload.type === 'udp' ? 17 : p.payload.type === 'tcp' ? 6 : p.payload.type === 'icmpv6' ? 58 : rawNext,
  }));

const vlan = fc.option(
  fc.record({ tpid: fc.constantFrom(0x8100, 0x88a8), pcp: fc.integer({ min: 0, max: 7 }), dei: fc.boolean(), vid: fc.integer({ min: 0, max: 4095 }) }),
  { nil: undefined },
);

const arp = fc.record({ type: fc.constant('arp' as const), operation: u16, senderMac: mac, senderIp: ipv4, targetMac: mac, targetIp: ipv4 });

const frame: fc.Arbitrary<EthernetFrame> = fc
  .record({
    dst: mac,
    src: mac,
    vlan,
    rawType: notIn([0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8], u16),
    payload: fc.oneof(arp, ipv4Packet, ipv6Packet, fc.record({ type: fc.constant('raw' as const), data: bytes(64) })),
    trailer: bytes(20),
  })
  .map(({ rawType, vlan: v, trailer, ...f }) => ({
    ...f,
    ...(v ? { vlan: v } : {}),
    etherType: f.payload.type === 'arp' ? 0x0806 : f.payload.type === 'ipv4' ? 0x0800 : f.payload.type === 'ipv6' ? 0x86dd : rawType,
    trailer: f.payload.type === 'raw' ? Buffer.alloc(0) : trailer,
  }));

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const cidrRoute = fc.record({ n: u32, len: fc.integer({ min: 0, max: 32 }), router: ipv4 }).map(({ n, len, router }) => ({
  destination: `${intToIpv4((n & prefixMask(len)) >>> 0)}/${len}`,
  router,
}));
const KNOWN = [1, 3, 6, 12, 15, 26, 28, 33, 50, 51, 53, 54, 55, 57, 58, 59, 61, 119, 121, 0, 255];
const dhcpOption: fc.Arbitrary<DhcpOption> = fc.oneof(
  fc.record({ type: fc.constantFrom('subnet-mask' as const, 'broadcast-address' as const, 'requested-ip' as const, 'server-id' as const), value: ipv4 }),
  fc.record({ type: fc.constantFrom('router' as const, 'dns-servers' as const), addresses: fc.array(ipv4, { minLength: 1, maxLength: 5 }) }),
  fc.record({ type: fc.constantFrom('hostname' as const, 'domain-name' as const), value: domain }),
  fc.record({ type: fc.constantFrom('mtu' as const, 'max-message-size' as const), value: u16 }),
  fc.record({ type: fc.constantFrom('lease-time' as const, 'renewal-time' as const, 'rebinding-time' as const), value: u32 }),
  fc.record({ type: fc.constant('message-type' as const), value: u8 }),
  fc.record({ type: fc.constant('parameter-request-list' as const), codes: fc.array(u8, { minLength: 1, maxLength: 20 }) }),
  fc.record({ type: fc.constant('client-id' as const), data: bytes(20, 2) }),
  fc.record({ type: fc.constant('static-routes' as const), routes: fc.array(fc.record({ destination: ipv4, router: ipv4 }), { minLength: 1, maxLength: 5 }) }),
  fc.record({ type: fc.constant('classless-routes' as const), routes: fc.array(cidrRoute, { minLength: 1, maxLength: 8 }) }),
  fc.record({ type: fc.constant('domain-search' as const), domains: fc.array(domain, { minLength: 1, maxLength: 3 }) }),
  fc.record({ type: fc.constant('raw' as const), code: notIn(KNOWN, u8), data: bytes(40) }),
);

const dhcpMessage: fc.Arbitrary<DhcpMessage> = fc.record({
  op: u8,
  htype: u8,
  hlen: fc.integer({ min: 0, max: 16 }),
  hops: u8,
  xid: u32,
  secs: u16,
  flags: u16,
  ciaddr: ipv4,
  yiaddr: ipv4,
  siaddr: ipv4,
  giaddr: ipv4,
  chaddr: bytes(16, 16),
  sname: bytes(64, 64),
  file: bytes(128, 128),
  // one instance per code: consecutive instances of a code are one option (RFC 3396)
  options: fc.uniqueArray(dhcpOption, { maxLength: 8, selector: (o) => (o.type === 'raw' ? `raw${o.code}` : o.type) }),
  trailer: bytes(60),
});

// ------------------------------------------------------------------ properties

const decoders: [string, (b: Buffer) => unknown][] = [
  ['ethernet', (b) => decodeEthernet(b)],
  ['arp', (b) => decodeArp(b)],
  ['ipv4', (b) => decodeIpv4(b)],
  ['ipv6', (b) => decodeIpv6(b)],
  ['udp', (b) => decodeUdp(b, { family: 4, base: 0 })],
  ['tcp', (b) => decodeTcp(b, { family: 6, base: 0 })],
  ['icmp', (b) => decodeIcmp(b)],
  ['icmpv6', (b) => decodeIcmpv6(b, { family: 6, base: 0 })],
  ['dhcp', (b) => decodeDhcp(b)],
];

describe('robustness', () => {
  it('random bytes never make a decoder throw', () => {
    fc.assert(
      fc.property(bytes(400), (b) => {
        for (const [, d] of decoders) expect(() => d(b)).not.toThrow();
      }),
      RUNS,
    );
  });

  it('random bytes behind plausible headers never throw', () => {
    // Force the interesting paths: IPv4/IPv6 version nibble, DHCP magic cookie.
    fc.assert(
      fc.property(bytes(300, 40), u8, (b, proto) => {
        const v4 = Buffer.from(b);
        v4[0] = 0x45;
        v4[9] = [1, 6, 17][proto % 3];
        v4.writeUInt16BE(Math.min(v4.length, v4.readUInt16BE(2)), 2);
        expect(() => decodeIpv4(v4)).not.toThrow();
        const v6 = Buffer.from(b);
        v6[0] = 0x60;
        v6[6] = [6, 17, 58][proto % 3];
        expect(() => decodeIpv6(v6)).not.toThrow();
        const dh = Buffer.concat([Buffer.alloc(236), Buffer.from('63825363', 'hex'), b]);
        const r = decodeDhcp(dh);
        if (r.ok) expect(encodeDhcp(r.value).ok).toBe(true);
      }),
      RUNS,
    );
  });

  it('mutated fixtures never throw, and whatever decodes re-encodes and re-decodes', () => {
    const mutated = fc
      .record({
        base: fc.constantFrom(...FIXTURES),
        edits: fc.array(fc.record({ at: fc.nat(), value: u8 }), { minLength: 1, maxLength: 6 }),
        cut: fc.option(fc.nat(), { nil: undefined }),
        extra: bytes(8),
      })
      .map(({ base, edits, cut, extra }) => {
        const b = Buffer.from(base);
        for (const e of edits) b[e.at % b.length] = e.value;
        const t = cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
        return Buffer.concat([t, extra]);
      });
    fc.assert(
      fc.property(mutated, (b) => {
        const r = decodeEthernet(b);
        if (!r.ok) return;
        const enc = encodeEthernet(r.value);
        expect(enc.ok).toBe(true);
        if (enc.ok) expect(decodeEthernet(enc.value).ok).toBe(true);
        const l4 = r.value.payload.type === 'ipv4' ? r.value.payload.payload : undefined;
        if (l4?.type === 'udp') {
          const d = decodeDhcp(l4.payload);
          if (d.ok) expect(encodeDhcp(d.value).ok).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('round trips', () => {
  it('decode(encode(frame)) gives the frame back and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(frame, (f) => {
        const enc = encodeEthernet(f);
        if (!enc.ok) throw enc.error;
        const dec = decodeEthernet(enc.value);
        if (!dec.ok) throw dec.error;
        expect(dec.value).toMatchObject(f);
        const again = encodeEthernet(dec.value);
        expect(again.ok && again.value.equals(enc.value)).toBe(true);
        // every checksum we computed verifies
        const p = dec.value.payload;
        if (p.type === 'ipv4') {
          expect(p.headerChecksumValid).toBe(true);
          if (p.payload.type !== 'raw') expect(p.payload.checksumValid).toBe(true);
        }
        if (p.type === 'ipv6' && p.payload.type !== 'raw') expect(p.payload.checksumValid).toBe(true);
      }),
      RUNS,
    );
  });

  it('decodeDhcp(encodeDhcp(msg)) gives the message back', () => {
    fc.assert(
      fc.property(dhcpMessage, (m) => {
        const enc = encodeDhcp(m);
        if (!enc.ok) throw enc.error;
        const dec = decodeDhcp(enc.value);
        if (!dec.ok) throw dec.error;
        expect(dec.value).toEqual(m);
        const again = encodeDhcp(dec.value);
        expect(again.ok && again.value.equals(enc.value)).toBe(true);
      }),
      RUNS,
    );
  });
});
