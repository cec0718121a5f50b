import { describe, expect, it } from 'vitest';
import type { CodecOptions, Match } from '../../../src/openflow/types.js';
import { BufferReader } from '../../../src/openflow/buffer-reader.js';
import { BufferWriter } from '../../../src/openflow/buffer-writer.js';
import { checkPrerequisites, readOxmFields, writeMatch, writeOxmFields, readMatch } from '../../../src/openflow/oxm.js';
import { OfEncodeError } from '../../../src/openflow/errors.js';
import { hex } from './hex.js';

// One OXM/NXM TLV per field: header = class(16) | field(7) | hasmask(1) | length(8).
const FIELD_FIXTURES: readonly { match: Match; hex: string; opts?: CodecOptions }[] = [
  { match: { in_port: 5 }, hex: '8000 00 04 | 00000005' },
  { match: { metadata: { value: 1n, mask: 0xffn } }, hex: '8000 05 10 | 0000000000000001 | 00000000000000ff' },
  { match: { eth_dst: 'aa:bb:cc:dd:ee:ff' }, hex: '8000 06 06 | aabbccddeeff' },
  { match: { eth_src: { value: '00:11:22:33:44:00', mask: 'ff:ff:ff:ff:ff:00' } }, hex: '8000 09 0c | 001122334400 ffffffffff00' },
  { match: { eth_type: 0x0800 }, hex: '8000 0a 02 | 0800' },
  { match: { vlan_vid: 0x1064 }, hex: '8000 0c 02 | 1064' },
  { match: { vlan_pcp: 3 }, hex: '8000 0e 01 | 03' },
  { match: { ip_dscp: 46 }, hex: '8000 10 01 | 2e' },
  { match: { ip_ecn: 1 }, hex: '8000 12 01 | 01' },
  { match: { ip_proto: 6 }, hex: '8000 14 01 | 06' },
  { match: { ipv4_src: '10.0.0.1' }, hex: '8000 16 04 | 0a000001' },
  { match: { ipv4_dst: { value: '10.0.0.0', mask: '255.0.0.0' } }, hex: '8000 19 08 | 0a000000 ff000000' },
  { match: { tcp_src: 80 }, hex: '8000 1a 02 | 0050' },
  { match: { tcp_dst: 443 }, hex: '8000 1c 02 | 01bb' },
  { match: { udp_src: 68 }, hex: '8000 1e 02 | 0044' },
  { match: { udp_dst: 67 }, hex: '8000 20 02 | 0043' },
  { match: { sctp_src: 5000 }, hex: '8000 22 02 | 1388 # OXM_OF_SCTP_SRC(17)' },
  { match: { sctp_dst: { value: 0x0b00, mask: 0xff00 } }, hex: '8000 25 04 | 0b00 ff00 # OXM_OF_SCTP_DST(18), masked' },
  { match: { icmpv4_type: 8 }, hex: '8000 26 01 | 08' },
  { match: { icmpv4_code: 0 }, hex: '8000 28 01 | 00' },
  { match: { arp_op: 1 }, hex: '8000 2a 02 | 0001' },
  { match: { arp_spa: '192.168.0.1' }, hex: '8000 2c 04 | c0a80001' },
  { match: { arp_tpa: '192.168.0.2' }, hex: '8000 2e 04 | c0a80002' },
  { match: { arp_sha: '02:00:00:00:00:01' }, hex: '8000 30 06 | 020000000001' },
  { match: { arp_tha: '02:00:00:00:00:02' }, hex: '8000 32 06 | 020000000002' },
  { match: { ipv6_src: 'fe80::1' }, hex: '8000 34 10 | fe800000000000000000000000000001' },
  {
    match: { ipv6_dst: { value: '2001:db8::', mask: 'ffff:ffff:ffff:ffff::' } },
    hex: '8000 37 20 | 20010db8000000000000000000000000 | ffffffffffffffff0000000000000000',
  },
  { match: { icmpv6_type: 135 }, hex: '8000 3a 01 | 87' },
  { match: { icmpv6_code: 0 }, hex: '8000 3c 01 | 00' },
  { match: { nd_target: '2001:db8::5' }, hex: '8000 3e 10 | 20010db8000000000000000000000005' },
  { match: { nd_sll: '02:00:00:00:00:03' }, hex: '8000 40 06 | 020000000003' },
  { match: { nd_tll: '02:00:00:00:00:04' }, hex: '8000 42 06 | 020000000004' },
  { match: { tunnel_id: 0x1234n }, hex: '8000 4c 08 | 0000000000001234' },
  { match: { nw_ttl: 64 }, hex: '0001 3a 01 | 40 # NXM_NX_IP_TTL(29)' },
  { match: { tun_ipv4_src: '172.16.0.1' }, hex: '0001 3e 04 | ac100001 # NXM_NX_TUN_IPV4_SRC(31)' },
  { match: { tun_ipv4_dst: '172.16.0.2' }, hex: '0001 40 04 | ac100002 # NXM_NX_TUN_IPV4_DST(32)' },
  { match: { tun_metadata0: 0xabcn }, hex: '0001 50 04 | 00000abc # NXM_NX_TUN_METADATA0(40), default 4 bytes' },
  {
    match: { tun_metadata5: { value: 1n, mask: 0xffn } },
    hex: '0001 5b 10 | 0000000000000001 00000000000000ff # TUN_METADATA5(45) mapped to 8 bytes',
    opts: { tunMetadataLengths: { 5: 8 } },
  },
  { match: { tun_metadata63: 7n }, hex: '0001 ce 04 | 00000007 # TUN_METADATA63(103)' },
  { match: { reg0: 1 }, hex: '0001 00 04 | 00000001' },
  { match: { reg3: { value: 5, mask: 0xff } }, hex: '0001 07 08 | 00000005 000000ff' },
  { match: { reg15: 0xffffffff }, hex: '0001 1e 04 | ffffffff' },
  { match: { xreg0: 0x100000001n }, hex: '8001 00 08 | 0000000100000001 # OXM_OF_PKT_REG0' },
  { match: { xreg7: 2n }, hex: '8001 0e 08 | 0000000000000002' },
  { match: { xxreg0: 1n }, hex: '0001 de 10 | 00000000000000000000000000000001 # NXM_NX_XXREG0(111)' },
  { match: { xxreg3: 2n }, hex: '0001 e4 10 | 00000000000000000000000000000002 # NXM_NX_XXREG3(114)' },
  { match: { pkt_mark: 9 }, hex: '0001 42 04 | 00000009 # NXM_NX_PKT_MARK(33)' },
  { match: { conj_id: 10 }, hex: '0001 4a 04 | 0000000a # NXM_NX_CONJ_ID(37)' },
  { match: { ct_state: { value: 0x21, mask: 0x21 } }, hex: '0001 d3 08 | 00000021 00000021 # CT_STATE(105) +new+trk' },
  { match: { ct_zone: 7 }, hex: '0001 d4 02 | 0007 # CT_ZONE(106)' },
  { match: { ct_mark: 1 }, hex: '0001 d6 04 | 00000001 # CT_MARK(107)' },
  {
    match: { ct_label: { value: 1n << 127n, mask: 1n << 127n } },
    hex: '0001 d9 20 | 80000000000000000000000000000000 80000000000000000000000000000000 # CT_LABEL(108)',
  },
];

function encodeFields(m: Match, opts?: CodecOptions): Buffer {
  const w = new BufferWriter();
  writeOxmFields(w, m, opts, false);
  return w.finish();
}

describe('OXM/NXM fields', () => {
  for (const f of FIELD_FIXTURES) {
    const name = Object.keys(f.match)[0];
    it(`${name}: encode, decode, round trip`, () => {
      const bytes = hex(f.hex);
      expect(encodeFields(f.match, f.opts).toString('hex')).toBe(bytes.toString('hex'));
      expect(readOxmFields(new BufferReader(bytes))).toEqual(f.match);
    });
  }

  it('decodes legacy NXM_OF_* and NXM_NX_* aliases', () => {
    const bytes = hex`
      0000 00 02 | fff8          # NXM_OF_IN_PORT (16-bit) = IN_PORT
      0000 06 02 | 86dd          # NXM_OF_ETH_TYPE
      0001 22 06 | 020000000001  # NXM_NX_ARP_SHA(17)
      0001 26 10 | fe800000000000000000000000000002 # NXM_NX_IPV6_SRC(19)
      0001 20 08 | 0000000000000005 # NXM_NX_TUN_ID(16)
    `;
    expect(readOxmFields(new BufferReader(bytes))).toEqual({
      in_port: 0xfffffff8,
      eth_type: 0x86dd,
      arp_sha: '02:00:00:00:00:01',
      ipv6_src: 'fe80::2',
      tunnel_id: 5n,
    });
  });

  it('skips unknown fields on decode', () => {
    const bytes = hex`0001 e6 01 | 06  # ct_nw_proto(115), not modelled
                      0001 00 04 | 00000001`;
    expect(readOxmFields(new BufferReader(bytes))).toEqual({ reg0: 1 });
  });

  it('writes ofp_match with length and padding, in canonical order', () => {
    const w = new BufferWriter();
    writeMatch(w, { ipv4_dst: '10.0.0.1', eth_type: 0x0800, reg1: 2 });
    const expected = hex`
      0001 001a              # OFPMT_OXM, length 26 (without padding)
      8000 0a 02 0800        # eth_type
      8000 18 04 0a000001    # ipv4_dst
      0001 02 04 00000002    # reg1
      000000000000           # pad to 32
    `;
    expect(w.finish().toString('hex')).toBe(expected.toString('hex'));
    expect(readMatch(new BufferReader(expected))).toEqual({ eth_type: 0x0800, ipv4_dst: '10.0.0.1', reg1: 2 });
  });

  it('rejects missing prerequisites with a typed error', () => {
    const cases: Match[] = [
      { ipv4_src: '1.2.3.4' },
      { eth_type: 0x86dd, ipv4_src: '1.2.3.4' },
      { eth_type: 0x0800, tcp_dst: 80 },
      { eth_type: 0x0800, ip_proto: 17, tcp_dst: 80 },
      { eth_type: 0x0800, ip_proto: 6, sctp_dst: 80 },
      { sctp_src: 80 },
      { eth_type: 0x0800, ip_proto: 6, icmpv4_type: 8 },
      { arp_op: 1 },
      { eth_type: 0x86dd, ip_proto: 58, nd_target: '::1' },
      { eth_type: 0x86dd, ip_proto: 58, icmpv6_type: 136, nd_sll: '02:00:00:00:00:01' },
      { vlan_pcp: 1 },
      { eth_type: { value: 0x0800, mask: 0xffff } as unknown as number, ip_proto: 6 },
    ];
    for (const m of cases) {
      try {
        checkPrerequisites(m);
        expect.fail(`accepted ${JSON.stringify(m)}`);
      } catch (e) {
        expect(e).toBeInstanceOf(OfEncodeError);
        expect((e as OfEncodeError).code).toBe('missing_prerequisite');
      }
    }
    expect(() =>
      checkPrerequisites({ eth_type: 0x86dd, ip_proto: 58, icmpv6_type: 135, nd_target: '::1', nd_sll: '02:00:00:00:00:01' }),
    ).not.toThrow();
    expect(() => checkPrerequisites({ eth_type: 0x0800, ip_proto: 6, tcp_src: 1, ipv4_src: '1.1.1.1' })).not.toThrow();
  });

  it('rejects masks on unmaskable fields and bad values', () => {
    expect(() => encodeFields({ ct_zone: { value: 1, mask: 1 } })).toThrow(OfEncodeError);
    expect(() => encodeFields({ eth_dst: 'zz:00:00:00:00:00' })).toThrow(OfEncodeError);
    expect(() => encodeFields({ reg0: 0x100000000 })).toThrow(OfEncodeError);
  });
});
