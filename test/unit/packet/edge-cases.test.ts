import { describe, expect, it } from 'vitest';
import { decodeEthernet, decodeIpv4, encodeEthernet, encodeUdp, decodeUdp, pseudoFromAddrs, type EthernetFrame } from '../../../src/packet/index.js';
import * as F from './fixtures.js';

function decode(bytes: Buffer, opts?: Parameters<typeof decodeEthernet>[1]): EthernetFrame {
  const r = decodeEthernet(bytes, opts);
  if (!r.ok) throw r.error;
  return r.value;
}

describe('edge cases', () => {
  it('decodeL4: false leaves the IP payload raw', () => {
    const f = decode(F.TCP_SYN, { decodeL4: false });
    expect(f.payload).toMatchObject({ type: 'ipv4', protocol: 6, payload: { type: 'raw' } });
    const g = decode(F.ND_NS, { decodeL4: false });
    expect(g.payload).toMatchObject({ type: 'ipv6', nextHeader: 58, payload: { type: 'raw' } });
    const again = encodeEthernet(f);
    expect(again.ok && again.value.equals(F.TCP_SYN)).toBe(true);
  });

  it('IPv4 fragments are raw, even the first one', () => {
    const b = Buffer.from(F.UDP_DNS_QUERY);
    b.writeUInt16BE(0x2000, 14 + 6); // MF
    b.writeUInt16BE(0, 14 + 10);
    const f = decode(b);
    expect(f.payload).toMatchObject({ type: 'ipv4', moreFragments: true, headerChecksumValid: false, payload: { type: 'raw' } });
    const enc = encodeEthernet(f);
    expect(enc.ok).toBe(true);
    if (enc.ok) expect(decode(enc.value).payload).toMatchObject({ headerChecksumValid: true });
  });

  it('unknown ethertypes and 802.3 length frames stay raw; QinQ outer tag is decoded', () => {
    const lldp = Buffer.concat([Buffer.from('0180c200000e525400123456' + '88cc', 'hex'), Buffer.from('0207046655443322', 'hex')]);
    expect(decode(lldp)).toMatchObject({ etherType: 0x88cc, payload: { type: 'raw', data: Buffer.from('0207046655443322', 'hex') } });
    const llc = Buffer.concat([Buffer.from('0180c2000000525400123456' + '0026', 'hex'), Buffer.alloc(38)]);
    expect(decode(llc)).toMatchObject({ etherType: 0x26, payload: { type: 'raw' } });
    const qinq = Buffer.concat([F.ARP_REPLY_VLAN.subarray(0, 12), Buffer.from('88a8a00a', 'hex'), F.ARP_REPLY_VLAN.subarray(16)]);
    expect(decode(qinq)).toMatchObject({ vlan: { tpid: 0x88a8, pcp: 5, dei: false, vid: 10 }, payload: { type: 'arp' } });
    const r = encodeEthernet(decode(qinq));
    expect(r.ok && r.value.equals(qinq)).toBe(true);
  });

  it('typed errors for bad versions and lengths', () => {
    const v = Buffer.from(F.PING_REQUEST.subarray(14));
    v[0] = 0x65;
    expect(decodeIpv4(v)).toMatchObject({ ok: false, error: { code: 'bad-version', layer: 'ipv4' } });
    v[0] = 0x44;
    expect(decodeIpv4(v)).toMatchObject({ ok: false, error: { code: 'bad-length' } });
    const arp = Buffer.from(F.ARP_REQUEST);
    arp[15] = 6; // htype 6
    expect(decodeEthernet(arp)).toMatchObject({ ok: false, error: { code: 'unsupported', layer: 'arp' } });
    const u = Buffer.from('0001000200040000', 'hex');
    expect(decodeUdp(u)).toMatchObject({ ok: false, error: { code: 'bad-length' } });
  });

  it('standalone UDP encode with pseudo-header matches the fixture checksum', () => {
    const f = decode(F.UDP_DNS_QUERY);
    const udp = f.payload.type === 'ipv4' && f.payload.payload.type === 'udp' ? f.payload.payload : null;
    if (!udp) throw new Error('not udp');
    const enc = encodeUdp(udp, '10.0.0.5', '10.0.0.2');
    expect(enc.ok && enc.value.equals(F.UDP_DNS_QUERY.subarray(34))).toBe(true);
    expect(decodeUdp(F.UDP_DNS_QUERY.subarray(34), pseudoFromAddrs('10.0.0.5', '10.0.0.2', 17) ?? undefined)).toMatchObject({
      ok: true,
      value: { checksumValid: true },
    });
    expect(encodeUdp(udp, '10.0.0.5', '::1').ok).toBe(false);
  });
});
