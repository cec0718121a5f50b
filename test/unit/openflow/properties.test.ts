import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec.js';
import { OfEncodeError } from '../../../src/openflow/errors.js';
import type { Action, Match, OfMessage } from '../../../src/openflow/types.js';
import { MESSAGE_FIXTURES } from './message-fixtures.js';
import { hex } from './hex.js';

const FIXTURE_BYTES = MESSAGE_FIXTURES.map((f) => hex(f.hex));

/** decode(encode(decode(x))) === decode(x) whenever x decodes and re-encodes. */
function checkStable(bytes: Buffer): void {
  const d = decodeMessage(bytes);
  if (!d.ok) return;
  let again: Buffer;
  try {
    again = encodeMessage(d.msg);
  } catch (e) {
    // A decoded message may be unencodable (e.g. a match without its prerequisites): typed error only.
    expect(e).toBeInstanceOf(OfEncodeError);
    return;
  }
  const d2 = decodeMessage(again);
  expect(d2.ok && d2.msg).toEqual(d.msg);
}

describe('decodeMessage robustness', () => {
  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (arr) => {
        const d = decodeMessage(Buffer.from(arr));
        expect(typeof d.ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on random frames with a valid header', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.uint8Array({ maxLength: 200 }), (type, body) => {
        const buf = Buffer.concat([Buffer.from([4, type, 0, 0, 0, 0, 0, 1]), Buffer.from(body)]);
        buf.writeUInt16BE(buf.length, 2);
        const d = decodeMessage(buf);
        if (!d.ok && 'error' in d) expect(d.error.length).toBe(buf.length);
        checkStable(buf);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated fixtures, and what decodes is stable', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: FIXTURE_BYTES.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (i, edits) => {
          const buf = Buffer.from(FIXTURE_BYTES[i]);
          for (const [pos, v] of edits) {
            const p = 2 + (pos % (buf.length - 2)); // keep the version byte, allow length/type edits
            buf[p === 2 || p === 3 ? p + 2 : p] = v;
          }
          const d = decodeMessage(buf);
          expect(typeof d.ok).toBe('boolean');
          checkStable(buf);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('every valid fixture is a fixed point of encode(decode(x))', () => {
    for (const bytes of FIXTURE_BYTES) {
      const d = decodeMessage(bytes);
      expect(d.ok && encodeMessage(d.msg).toString('hex')).toBe(bytes.toString('hex'));
    }
  });
});

// --- generated flow_mods round-trip -------------------------------------------------------------

const u = (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 });
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => Array.from(b).join('.'));
const ipv6 = fc.ipV6().map((s) => s); // normalised below through encode/decode equality
const big = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });

const matchArb: fc.Arbitrary<Match> = fc
  .record(
    {
      in_port: u(32),
      metadata: big(64),
      eth_src: mac,
      eth_dst: fc.record({ value: mac, mask: mac }),
      reg0: u(32),
      reg7: fc.record({ value: u(32), mask: u(32) }),
      xreg3: big(64),
      xxreg0: big(128),
      tunnel_id: big(64),
      tun_ipv4_dst: ipv4,
      tun_metadata1: big(32),
      ct_state: fc.record({ value: u(8), mask: u(8) }),
      ct_zone: u(16),
      ct_mark: u(32),
      ct_label: fc.record({ value: big(128), mask: big(128) }),
      conj_id: u(32),
      pkt_mark: u(32),
    },
    { requiredKeys: [] },
  )
  .chain((base) =>
    fc.oneof(
      fc.constant<Match>(base),
      fc.record({ ipv4_src: ipv4, nw_ttl: u(8), tcp_dst: u(16) }).map((x) => ({ ...base, eth_type: 0x0800, ip_proto: 6, ...x })),
      fc.record({ arp_spa: ipv4, arp_op: u(16), arp_sha: mac }).map((x) => ({ ...base, eth_type: 0x0806, ...x })),
      fc.record({ ipv6_dst: ipv6, nd_target: ipv6 }).map((x) => ({ ...base, eth_type: 0x86dd, ip_proto: 58, icmpv6_type: 135, ...x })),
    ),
  );

const subField = fc.constantFrom('reg0', 'reg5', 'reg13', 'xreg1', 'tun_metadata1').chain((field) => {
  const width = field.startsWith('xreg') ? 64 : 32;
  return fc
    .integer({ min: 1, max: width })
    .chain((nbits) => fc.integer({ min: 0, max: width - nbits }).map((ofs) => ({ field, ofs, nbits }) as const));
});

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ type: fc.constant('output' as const), port: fc.oneof(u(16), fc.constantFrom('in_port', 'normal', 'local', 'flood')) }),
  fc.record({ type: fc.constant('group' as const), groupId: u(32) }),
  fc.record({ type: fc.constant('set_field' as const), field: fc.constant('reg2' as const), value: u(32) }),
  fc.record({ type: fc.constant('set_field' as const), field: fc.constant('eth_dst' as const), value: mac }),
  fc.record({ type: fc.constant('resubmit' as const), table: u(8) }),
  fc.record({ type: fc.constant('conjunction' as const), id: u(32), nClauses: fc.integer({ min: 2, max: 64 }) }).chain((c) =>
    fc.integer({ min: 1, max: c.nClauses }).map((clause) => ({ ...c, clause })),
  ),
  subField.chain((dst) => big(dst.nbits).map((value) => ({ type: 'load' as const, dst, value }))),
  subField.chain((src) =>
    subField
      .filter((d) => d.nbits >= src.nbits)
      .map((d) => ({ type: 'move' as const, src, dst: { ...d, nbits: src.nbits } })),
  ),
  fc.record(
    {
      type: fc.constant('ct' as const),
      commit: fc.constant(true),
      zone: fc.oneof(u(16).filter((z) => z !== 0), subField.filter((s) => s.nbits <= 16)),
      table: u(8).filter((t) => t !== 255),
      nat: fc.oneof(
        fc.constant({}),
        fc.record(
          { kind: fc.constantFrom('src' as const, 'dst' as const), ipv4Min: ipv4, ipv4Max: ipv4, portMin: u(16), portMax: u(16), random: fc.constant(true) },
          { requiredKeys: ['kind'] },
        ),
      ),
      actions: fc.constant([{ type: 'set_field' as const, field: 'ct_mark' as const, value: 1 }]),
    },
    { requiredKeys: ['type'] },
  ),
  fc.constant<Action>({ type: 'ct_clear' }),
  fc.constant<Action>({ type: 'dec_ttl' }),
  fc.uint8Array({ minLength: 1, maxLength: 20 }).filter((b) => b[b.length - 1] !== 0).map((b) => ({ type: 'note' as const, data: Buffer.from(b) })),
);

describe('generated flow_mods', () => {
  it('decode(encode(m)) equals m', () => {
    fc.assert(
      fc.property(matchArb, fc.array(actionArb, { maxLength: 6 }), u(16), big(64), (match, actions, priority, cookie) => {
        const msg: OfMessage = {
          type: 'flow_mod', xid: 1, command: 'add', tableId: 3, priority, cookie, cookieMask: 0n, idleTimeout: 0,
          hardTimeout: 0, flags: {}, bufferId: 0xffffffff, outPort: 'any', outGroup: 0xffffffff, match,
          instructions: [{ type: 'apply_actions', actions }, { type: 'goto_table', tableId: 4 }],
        };
        const bytes = encodeMessage(msg);
        const d = decodeMessage(bytes);
        expect(d.ok).toBe(true);
        // Compare through a second encode: IPv6 text is canonicalised on decode.
        expect(d.ok && encodeMessage(d.msg).toString('hex')).toBe(bytes.toString('hex'));
        if (d.ok && !('ipv6_dst' in match)) expect(d.msg).toEqual(msg);
      }),
      { numRuns: 1500 },
    );
  });
});
