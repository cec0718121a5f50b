import { describe, expect, it } from 'vitest';
import type { Action, Instruction } from '../../../src/openflow/types.js';
import { BufferReader } from '../../../src/openflow/buffer-reader.js';
import { BufferWriter } from '../../../src/openflow/buffer-writer.js';
import { readActions, writeActions } from '../../../src/openflow/actions.js';
import { readInstructions, writeInstructions } from '../../../src/openflow/instructions.js';
import { OfEncodeError } from '../../../src/openflow/errors.js';
import { hex } from './hex.js';

// Nicira actions: ffff LEN 00002320 SUBTYPE ...
export const ACTION_FIXTURES: readonly { name: string; action: Action; hex: string }[] = [
  { name: 'output port', action: { type: 'output', port: 1 }, hex: '0000 0010 00000001 0000 000000000000' },
  {
    name: 'output controller max_len',
    action: { type: 'output', port: 'controller', maxLen: 128 },
    hex: '0000 0010 fffffffd 0080 000000000000',
  },
  { name: 'output in_port', action: { type: 'output', port: 'in_port' }, hex: '0000 0010 fffffff8 0000 000000000000' },
  { name: 'output normal', action: { type: 'output', port: 'normal' }, hex: '0000 0010 fffffffa 0000 000000000000' },
  { name: 'output flood', action: { type: 'output', port: 'flood' }, hex: '0000 0010 fffffffb 0000 000000000000' },
  { name: 'output all', action: { type: 'output', port: 'all' }, hex: '0000 0010 fffffffc 0000 000000000000' },
  { name: 'output local', action: { type: 'output', port: 'local' }, hex: '0000 0010 fffffffe 0000 000000000000' },
  { name: 'output table', action: { type: 'output', port: 'table' }, hex: '0000 0010 fffffff9 0000 000000000000' },
  { name: 'group', action: { type: 'group', groupId: 7 }, hex: '0016 0008 00000007' },
  { name: 'set_queue', action: { type: 'set_queue', queueId: 2 }, hex: '0015 0008 00000002' },
  {
    name: 'set_field eth_src',
    action: { type: 'set_field', field: 'eth_src', value: 'aa:bb:cc:dd:ee:ff' },
    hex: '0019 0010 | 8000 08 06 aabbccddeeff | 0000',
  },
  {
    name: 'set_field reg3',
    action: { type: 'set_field', field: 'reg3', value: 5 },
    hex: '0019 0010 | 0001 06 04 00000005 | 00000000',
  },
  {
    name: 'set_field ipv4_dst',
    action: { type: 'set_field', field: 'ipv4_dst', value: '10.0.0.9' },
    hex: '0019 0010 | 8000 18 04 0a000009 | 00000000',
  },
  { name: 'push_vlan', action: { type: 'push_vlan', ethertype: 0x8100 }, hex: '0011 0008 8100 0000' },
  { name: 'pop_vlan', action: { type: 'pop_vlan' }, hex: '0012 0008 00000000' },
  { name: 'dec_ttl', action: { type: 'dec_ttl' }, hex: '0018 0008 00000000 # OFPAT_DEC_NW_TTL' },
  {
    name: 'resubmit port',
    action: { type: 'resubmit', port: 5 },
    hex: 'ffff 0010 00002320 0001 | 0005 00000000 # NXAST_RESUBMIT',
  },
  {
    name: 'resubmit table',
    action: { type: 'resubmit', table: 9 },
    hex: 'ffff 0010 00002320 000e | fff8 09 000000 # NXAST_RESUBMIT_TABLE in_port',
  },
  {
    name: 'resubmit port+table',
    action: { type: 'resubmit', port: 3, table: 9 },
    hex: 'ffff 0010 00002320 000e | 0003 09 000000',
  },
  {
    name: 'ct commit zone imm',
    action: { type: 'ct', commit: true, zone: 5, table: 3 },
    hex: 'ffff 0018 00002320 0023 | 0001 # flags=commit | 00000000 # zone_src | 0005 # zone | 03 # table | 000000 | 0000 # alg',
  },
  {
    name: 'ct zone from reg13, nat src, exec ct_mark',
    action: {
      type: 'ct',
      commit: true,
      zone: { field: 'reg13', ofs: 0, nbits: 16 },
      nat: { kind: 'src', ipv4Min: '10.0.0.1', ipv4Max: '10.0.0.2' },
      actions: [{ type: 'set_field', field: 'ct_mark', value: 1 }],
    },
    hex: `ffff 0040 00002320 0023 | 0001 | 0001 1a 04 # NXM_NX_REG13
          000f # ofs 0 nbits 16 | ff # no recirc | 000000 | 0000
          ffff 0018 00002320 0024 | 0000 | 0001 # src | 0003 # ipv4 min+max | 0a000001 0a000002
          0019 0010 0001 d6 04 00000001 00000000 # set_field ct_mark`,
  },
  {
    name: 'ct bare nat',
    action: { type: 'ct', table: 4, nat: {} },
    hex: `ffff 0028 00002320 0023 | 0000 | 00000000 | 0000 | 04 | 000000 | 0000
          ffff 0010 00002320 0024 | 0000 0000 0000`,
  },
  {
    name: 'ct dnat ports persistent hash, alg ftp',
    action: {
      type: 'ct',
      commit: true,
      alg: 21,
      nat: { kind: 'dst', ipv4Min: '10.0.0.1', portMin: 80, portMax: 81, persistent: true, hash: true },
    },
    hex: `ffff 0030 00002320 0023 | 0001 | 00000000 | 0000 | ff | 000000 | 0015
          ffff 0018 00002320 0024 | 0000 | 000e # dst+persistent+hash | 0031 # ipv4_min+proto_min+proto_max
          0a000001 0050 0051`,
  },
  { name: 'ct_clear', action: { type: 'ct_clear' }, hex: 'ffff 0010 00002320 002b 000000000000' },
  {
    name: 'conjunction',
    action: { type: 'conjunction', id: 0x10, clause: 2, nClauses: 3 },
    hex: 'ffff 0010 00002320 0022 | 01 # clause-1 | 03 # n_clauses | 00000010 # id',
  },
  {
    name: 'move',
    action: { type: 'move', src: { field: 'reg1', ofs: 0, nbits: 16 }, dst: { field: 'reg2', ofs: 16, nbits: 16 } },
    hex: 'ffff 0018 00002320 0006 | 0010 # n_bits | 0000 # src_ofs | 0010 # dst_ofs | 0001 02 04 | 0001 04 04',
  },
  {
    name: 'load',
    action: { type: 'load', dst: { field: 'reg2', ofs: 4, nbits: 8 }, value: 0x12n },
    hex: 'ffff 0018 00002320 0007 | 0107 # ofs 4 nbits 8 | 0001 04 04 | 0000000000000012',
  },
  {
    name: 'note',
    action: { type: 'note', data: Buffer.from('hi') },
    hex: 'ffff 0010 00002320 0008 | 6869 00000000',
  },
  {
    name: 'controller2',
    action: { type: 'controller2', maxLen: 128, reason: 'no_match', userdata: Buffer.from([1, 2]), pause: true },
    hex: `ffff 0030 00002320 0025 | 000000000000
          0000 0006 0080 0000     # MAX_LEN
          0002 0005 00 000000     # REASON no_match
          0003 0006 0102 0000     # USERDATA
          0004 0004 00000000      # PAUSE`,
  },
  {
    name: 'unknown experimenter action kept raw',
    action: { type: 'unknown_action', raw: hex('ffff 0010 00001234 0001 000000000000') },
    hex: 'ffff 0010 00001234 0001 000000000000',
  },
];

export const INSTRUCTION_FIXTURES: readonly { name: string; inst: Instruction; hex: string }[] = [
  { name: 'goto_table', inst: { type: 'goto_table', tableId: 5 }, hex: '0001 0008 05 000000' },
  {
    name: 'write_metadata',
    inst: { type: 'write_metadata', metadata: 0x10n, mask: 0xffn },
    hex: '0002 0018 00000000 0000000000000010 00000000000000ff',
  },
  {
    name: 'apply_actions',
    inst: { type: 'apply_actions', actions: [{ type: 'dec_ttl' }] },
    hex: '0004 0010 00000000 | 0018 0008 00000000',
  },
  {
    name: 'write_actions',
    inst: { type: 'write_actions', actions: [{ type: 'group', groupId: 1 }] },
    hex: '0003 0010 00000000 | 0016 0008 00000001',
  },
  { name: 'clear_actions', inst: { type: 'clear_actions' }, hex: '0005 0008 00000000' },
  { name: 'meter', inst: { type: 'meter', meterId: 3 }, hex: '0006 0008 00000003' },
];

describe('actions', () => {
  for (const f of ACTION_FIXTURES) {
    it(`${f.name}: encode, decode`, () => {
      const bytes = hex(f.hex);
      const w = new BufferWriter();
      writeActions(w, [f.action]);
      expect(w.finish().toString('hex')).toBe(bytes.toString('hex'));
      expect(readActions(new BufferReader(bytes))).toEqual([f.action]);
    });
  }

  it('load wider than 64 bits uses NXAST_REG_LOAD2 and round-trips', () => {
    const a: Action = { type: 'load', dst: { field: 'xxreg1', ofs: 8, nbits: 100 }, value: (1n << 99n) | 5n };
    const w = new BufferWriter();
    writeActions(w, [a]);
    const bytes = w.finish();
    expect(bytes.readUInt16BE(8)).toBe(33);
    expect(readActions(new BufferReader(bytes))).toEqual([a]);
  });

  it('rejects invalid actions with typed errors', () => {
    const bad: Action[] = [
      { type: 'conjunction', id: 1, clause: 3, nClauses: 2 },
      { type: 'move', src: { field: 'reg1', ofs: 0, nbits: 16 }, dst: { field: 'reg2', ofs: 0, nbits: 8 } },
      { type: 'load', dst: { field: 'reg1', ofs: 30, nbits: 4 }, value: 1n },
      { type: 'load', dst: { field: 'reg1', ofs: 0, nbits: 4 }, value: 16n },
      { type: 'output', port: -1 },
    ];
    for (const a of bad) expect(() => writeActions(new BufferWriter(), [a])).toThrow(OfEncodeError);
  });
});

describe('instructions', () => {
  for (const f of INSTRUCTION_FIXTURES) {
    it(`${f.name}: encode, decode`, () => {
      const bytes = hex(f.hex);
      const w = new BufferWriter();
      writeInstructions(w, [f.inst]);
      expect(w.finish().toString('hex')).toBe(bytes.toString('hex'));
      expect(readInstructions(new BufferReader(bytes))).toEqual([f.inst]);
    });
  }
});
