import { describe, expect, it } from 'vitest';
import { canonicalIp, formatIp, parseCidr, parseIp } from '../../../src/model/ip-address.js';
import { bytesToIpv6 as ofBytesToIpv6, ipv6ToBytes as ofIpv6ToBytes } from '../../../src/openflow/addr.js';

describe('model IP addresses (one RFC 5952 formatter shared with the packet and OpenFlow layers)', () => {
  it('canonical text: longest zero run compressed (first on ties), lower case, IPv4-mapped dotted', () => {
    const cases: [string, string][] = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['::ffff:198.51.100.7', '::ffff:198.51.100.7'],
      ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
      ['198.51.100.007', undefined as unknown as string],
    ];
    for (const [text, want] of cases) {
      expect(canonicalIp(text)).toBe(want);
      // The OpenFlow layer (flow dumps) writes the same text for the same bytes.
      if (want !== undefined) expect(ofBytesToIpv6(ofIpv6ToBytes(text.includes(':') ? text : `::ffff:${text}`))).toBe(text.includes(':') ? want : `::ffff:${want}`);
    }
  });

  it('formats IPv4 and parses CIDRs, normalising host bits', () => {
    expect(formatIp(4, parseIp('203.0.113.9')!.value)).toBe('203.0.113.9');
    expect(parseCidr('10.1.2.3/16')).toEqual({ version: 4, network: 0x0a010000n, prefixLen: 16 });
    expect(parseCidr('2001:db8::1/64')?.network).toBe(parseIp('2001:db8::')!.value);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
  });
});
