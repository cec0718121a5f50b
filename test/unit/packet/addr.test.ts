import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bytesToIpv6,
  bytesToMac,
  cidrHasHostBits,
  inCidr,
  intToIpv4,
  ipv4ToInt,
  ipv6MulticastMac,
  ipv6ToBytes,
  isMac,
  linkLocalFromMac,
  macToBytes,
  maskToPrefix,
  normalizeIpv6,
  parseCidr,
  prefixMask,
  solicitedNodeMulticast,
} from '../../../src/packet/addr.js';

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const macArb = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }).map((b) => b.map(hex2).join(':'));

describe('MAC helpers', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(macArb, (mac) => {
        const b = macToBytes(mac);
        expect(b).not.toBeNull();
        expect(bytesToMac(b as Buffer)).toBe(mac);
      }),
    );
  });
  it('accept upper case input, reject malformed', () => {
    expect(macToBytes('AA:BB:CC:DD:EE:FF')?.toString('hex')).toBe('aabbccddeeff');
    for (const bad of ['', 'aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:fg', 'aa-bb-cc-dd-ee-ff', 'aa:bb:cc:dd:ee:ff:00', 'a:bb:cc:dd:ee:ff']) {
      expect(macToBytes(bad), bad).toBeNull();
      expect(isMac(bad)).toBe(false);
    }
  });
});

describe('IPv4 helpers', () => {
  it('round-trip ints and strings', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
      expect(ipv4ToInt(intToIpv4(n))).toBe(n);
    }));
    fc.assert(fc.property(fc.ipV4(), (s) => {
      expect(intToIpv4(ipv4ToInt(s) as number)).toBe(s);
    }));
  });
  it('known values and rejects', () => {
    expect(ipv4ToInt('0.0.0.0')).toBe(0);
    expect(ipv4ToInt('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToInt('192.168.1.10')).toBe(0xc0a8010a);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '1.2.3.']) {
      expect(ipv4ToInt(bad), bad).toBeNull();
    }
  });
  it('prefix masks and CIDRs', () => {
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(24)).toBe(0xffffff00);
    expect(prefixMask(32)).toBe(0xffffffff);
    expect(maskToPrefix('255.255.255.128')).toBe(25);
    expect(maskToPrefix('255.0.255.0')).toBeNull();
    expect(parseCidr('10.1.2.3/8')).toMatchObject({ family: 4, network: '10.0.0.0', prefixLen: 8 });
    expect(cidrHasHostBits('10.1.2.3/8')).toBe(true);
    expect(cidrHasHostBits('10.0.0.0/8')).toBe(false);
    expect(inCidr('10.200.0.1', '10.0.0.0/8')).toBe(true);
    expect(inCidr('11.0.0.1', '10.0.0.0/8')).toBe(false);
    expect(inCidr('1.2.3.4', '0.0.0.0/0')).toBe(true);
    expect(inCidr('2001:db8::1', '10.0.0.0/8')).toBe(false);
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', 'x/8', '::/129']) expect(parseCidr(bad), bad).toBeNull();
  });
  it('inCidr agrees with integer arithmetic', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (a, n, len) => {
        const div = 2 ** (32 - len);
        const expected = Math.floor(a / div) === Math.floor(n / div);
        expect(inCidr(intToIpv4(a), `${intToIpv4(n)}/${len}`)).toBe(expected);
      }),
    );
  });
});

describe('IPv6 helpers', () => {
  it('formats per RFC 5952', () => {
    const cases: [string, string][] = [
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8::0001', '2001:db8::1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
      ['FE80::1', 'fe80::1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['::ffff:c000:0201', '::ffff:192.0.2.1'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ];
    for (const [input, want] of cases) expect(normalizeIpv6(input), input).toBe(want);
  });
  it('rejects malformed', () => {
    for (const bad of ['', ':', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '::1.2.3', '1:2:3:4:5:6:7::1.2.3.4', ':1:2:3:4:5:6:7']) {
      expect(ipv6ToBytes(bad), bad).toBeNull();
    }
  });
  it('round-trips bytes and agrees with the WHATWG URL serializer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (arr) => {
        const b = Buffer.from(arr);
        const s = bytesToIpv6(b);
        expect(ipv6ToBytes(s)?.equals(b)).toBe(true);
        const mapped = b.subarray(0, 12).equals(Buffer.from('00000000000000000000ffff', 'hex'));
        if (!mapped) expect(s).toBe(new URL(`http://[${s}]/`).hostname.slice(1, -1));
      }),
    );
  });
  it('parses any fast-check IPv6 form to its canonical form', () => {
    fc.assert(
      fc.property(fc.ipV6(), (s) => {
        const n = normalizeIpv6(s);
        expect(n).not.toBeNull();
        expect(normalizeIpv6(n as string)).toBe(n);
      }),
    );
  });
  it('IPv6 CIDRs and ND helpers', () => {
    expect(parseCidr('2001:db8:1:2::5/64')).toMatchObject({ family: 6, network: '2001:db8:1:2::', prefixLen: 64 });
    expect(inCidr('2001:db8:1:2:ffff::1', '2001:db8:1:2::/64')).toBe(true);
    expect(inCidr('2001:db8:1:3::1', '2001:db8:1:2::/63')).toBe(true);
    expect(inCidr('2001:db8:1:4::1', '2001:db8:1:2::/63')).toBe(false);
    expect(solicitedNodeMulticast('fe80::f816:3eff:feaa:bbcc')).toBe('ff02::1:ffaa:bbcc');
    expect(ipv6MulticastMac('ff02::1:ffaa:bbcc')).toBe('33:33:ff:aa:bb:cc');
    expect(linkLocalFromMac('fa:16:3e:aa:bb:cc')).toBe('fe80::f816:3eff:feaa:bbcc');
  });
});
