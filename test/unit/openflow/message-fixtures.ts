// One annotated fixture per message: bytes written by hand from the OpenFlow 1.3 spec and the
// Nicira / ONF extension headers (several cross-checked with `ovs-ofctl ofp-print`).
import type { OfMessage } from '../../../src/openflow/types.js';

export interface MessageFixture {
  readonly name: string;
  readonly hex: string;
  readonly msg: OfMessage;
}

const PORT_DESC_HEX = `
  00000001 | 00000000 | 020000000001 | 0000      # port_no 1, hw_addr
  76657468300000000000000000000000               # name "veth0"
  00000000 | 00000004 | 00000840 | 00000000      # config, state=LIVE, curr=10GB_FD+COPPER
  00000000 | 00000000 | 00989680 | 00989680      # supported, peer, curr_speed, max_speed (10 Gbps in kbps)
`;
const PORT_DESC = {
  portNo: 1, hwAddr: '02:00:00:00:00:01', name: 'veth0', config: 0, state: 4, curr: 0x840, advertised: 0,
  supported: 0, peer: 0, currSpeed: 10_000_000, maxSpeed: 10_000_000,
};

const NO_BUFFER = 0xffffffff;

export const MESSAGE_FIXTURES: readonly MessageFixture[] = [
  {
    name: 'hello with version bitmap',
    hex: '04 00 0010 00000001 | 0001 0008 00000012 # VERSIONBITMAP: OF1.0 (bit 1) + OF1.3 (bit 4)',
    msg: { type: 'hello', xid: 1, versions: [1, 4] },
  },
  {
    name: 'error BAD_MATCH/BAD_PREREQ with offending header',
    hex: '04 01 0014 00000007 | 0004 0009 | 04 0e 0048 00000042 # failed FLOW_MOD xid 0x42',
    msg: {
      type: 'error', xid: 7, errType: 4, code: 9, errTypeName: 'BAD_MATCH', codeName: 'BAD_PREREQ',
      failedRequest: { type: 14, length: 0x48, xid: 0x42 }, data: Buffer.from('040e004800000042', 'hex'),
    },
  },
  {
    name: 'experimenter error (NXBRC_NXM_INVALID)',
    hex: '04 01 0018 00000008 | ffff 0002 # exp_code | 00002320 # NX | 04 0e 0048 00000042',
    msg: {
      type: 'error', xid: 8, errType: 0xffff, code: 2, errTypeName: 'EXPERIMENTER', experimenter: 0x2320,
      failedRequest: { type: 14, length: 0x48, xid: 0x42 }, data: Buffer.from('040e004800000042', 'hex'),
    },
  },
  {
    name: 'echo_request',
    hex: '04 02 000c 00000002 | 01020304',
    msg: { type: 'echo_request', xid: 2, data: Buffer.from([1, 2, 3, 4]) },
  },
  { name: 'echo_reply', hex: '04 03 0008 00000003', msg: { type: 'echo_reply', xid: 3, data: Buffer.alloc(0) } },
  { name: 'features_request', hex: '04 05 0008 00000004', msg: { type: 'features_request', xid: 4 } },
  {
    name: 'features_reply',
    hex: `04 06 0020 00000005 | 0000000000000abc # dpid | 00000100 # n_buffers | fe # n_tables | 00 # aux
          0000 | 0000004f # capabilities | 00000000`,
    msg: {
      type: 'features_reply', xid: 5, datapathId: 0xabcn, nBuffers: 256, nTables: 254, auxiliaryId: 0,
      capabilities: 0x4f,
    },
  },
  { name: 'get_config_request', hex: '04 07 0008 00000006', msg: { type: 'get_config_request', xid: 6 } },
  {
    name: 'get_config_reply',
    hex: '04 08 000c 00000006 | 0000 ffff',
    msg: { type: 'get_config_reply', xid: 6, flags: 0, missSendLen: 0xffff },
  },
  {
    name: 'set_config',
    hex: '04 09 000c 00000009 | 0000 0080',
    msg: { type: 'set_config', xid: 9, flags: 0, missSendLen: 128 },
  },
  {
    name: 'flow_mod add',
    hex: `04 0e 0058 0000000a
          00000000000000ff # cookie | 0000000000000000 # cookie_mask | 01 # table | 00 # ADD
          003c # idle 60 | 0000 # hard | 0064 # priority 100 | ffffffff # buffer | ffffffff # out_port
          ffffffff # out_group | 0001 # SEND_FLOW_REM | 0000
          0001 001e # match, length 30
          8000 00 04 00000005 # in_port=5
          8000 0a 02 0800 # eth_type=ip
          8000 19 08 0a000000 ffffff00 # ipv4_dst=10.0.0.0/24
          0000 # pad
          0001 0008 02 000000 # goto_table:2`,
    msg: {
      type: 'flow_mod', xid: 10, command: 'add', tableId: 1, priority: 100, cookie: 0xffn, cookieMask: 0n,
      idleTimeout: 60, hardTimeout: 0, flags: { sendFlowRem: true }, bufferId: NO_BUFFER, outPort: 'any',
      outGroup: 0xffffffff,
      match: { in_port: 5, eth_type: 0x0800, ipv4_dst: { value: '10.0.0.0', mask: '255.255.255.0' } },
      instructions: [{ type: 'goto_table', tableId: 2 }],
    },
  },
  {
    name: 'flow_mod delete by cookie, all flags',
    hex: `04 0e 0038 0000000b
          0000000000000100 | ffffffffffffff00 | ff # all tables | 03 # DELETE
          0000 0000 0000 | ffffffff | ffffffff | ffffffff | 001f # all flags | 0000
          0001 0004 00000000 # empty match`,
    msg: {
      type: 'flow_mod', xid: 11, command: 'delete', tableId: 0xff, priority: 0, cookie: 0x100n,
      cookieMask: 0xffffffffffffff00n, idleTimeout: 0, hardTimeout: 0,
      flags: { sendFlowRem: true, checkOverlap: true, resetCounts: true, noPktCounts: true, noBytCounts: true },
      bufferId: NO_BUFFER, outPort: 'any', outGroup: 0xffffffff, match: {}, instructions: [],
    },
  },
  {
    name: 'flow_mod modify_strict with apply_actions',
    hex: `04 0e 0060 0000000c
          0000000000000000 | 0000000000000000 | 00 | 02 # MODIFY_STRICT
          0000 0000 8000 | ffffffff | ffffffff | ffffffff | 0000 0000
          0001 000c 0001 00 04 00000007 00000000 # reg0=7, pad
          0004 0020 00000000 # apply_actions
          0016 0008 00000005 # group:5
          0000 0010 00000003 0000 000000000000 # output:3`,
    msg: {
      type: 'flow_mod', xid: 12, command: 'modify_strict', tableId: 0, priority: 0x8000, cookie: 0n, cookieMask: 0n,
      idleTimeout: 0, hardTimeout: 0, flags: {}, bufferId: NO_BUFFER, outPort: 'any', outGroup: 0xffffffff,
      match: { reg0: 7 },
      instructions: [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 5 }, { type: 'output', port: 3 }] }],
    },
  },
  {
    name: 'group_mod add fast-failover',
    hex: `04 0f 0050 0000000d | 0000 # ADD | 03 # FF | 00 | 00000010 # group 16
          0020 0000 00000001 ffffffff 00000000 # bucket: len 32, watch_port 1
          0000 0010 00000001 0000 000000000000
          0020 0000 00000002 ffffffff 00000000 # bucket: watch_port 2
          0000 0010 00000002 0000 000000000000`,
    msg: {
      type: 'group_mod', xid: 13, command: 'add', groupType: 'ff', groupId: 16,
      buckets: [
        { weight: 0, watchPort: 1, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 1 }] },
        { weight: 0, watchPort: 2, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 2 }] },
      ],
    },
  },
  {
    name: 'group_mod modify select with weights',
    hex: `04 0f 0030 0000000e | 0001 # MODIFY | 01 # SELECT | 00 | 00000011
          0020 0032 ffffffff ffffffff 00000000 # weight 50
          0016 0008 00000005 | 0012 0008 00000000 # group:5, pop_vlan`,
    msg: {
      type: 'group_mod', xid: 14, command: 'modify', groupType: 'select', groupId: 17,
      buckets: [
        {
          weight: 50, watchPort: 0xffffffff, watchGroup: 0xffffffff,
          actions: [{ type: 'group', groupId: 5 }, { type: 'pop_vlan' }],
        },
      ],
    },
  },
  {
    name: 'group_mod delete all/indirect',
    hex: '04 0f 0010 0000000f | 0002 # DELETE | 02 # INDIRECT | 00 | fffffffc # OFPG_ALL',
    msg: { type: 'group_mod', xid: 15, command: 'delete', groupType: 'indirect', groupId: 0xfffffffc, buckets: [] },
  },
  {
    name: 'meter_mod',
    hex: `04 1d 0030 00000010 | 0000 # ADD | 000d # KBPS+BURST+STATS | 00000001
          0001 0010 000003e8 00000064 00000000 # drop rate 1000 burst 100
          0002 0010 0000000a 00000001 01 000000 # dscp_remark prec 1`,
    msg: {
      type: 'meter_mod', xid: 16, command: 'add', flags: { kbps: true, burst: true, stats: true }, meterId: 1,
      bands: [
        { type: 'drop', rate: 1000, burstSize: 100 },
        { type: 'dscp_remark', rate: 10, burstSize: 1, precLevel: 1 },
      ],
    },
  },
  {
    name: 'meter_mod delete pktps',
    hex: '04 1d 0010 00000011 | 0002 0002 00000007',
    msg: { type: 'meter_mod', xid: 17, command: 'delete', flags: { pktps: true }, meterId: 7, bands: [] },
  },
  {
    name: 'packet_in',
    hex: `04 0a 002e 00000000 | ffffffff # no buffer | 0004 # total_len | 01 # ACTION | 05 # table
          000000000000beef # cookie
          0001 000c 8000 00 04 00000005 00000000 # match in_port=5, pad
          0000 # pad | aabbccdd # data`,
    msg: {
      type: 'packet_in', xid: 0, bufferId: NO_BUFFER, totalLen: 4, reason: 'action', tableId: 5, cookie: 0xbeefn,
      match: { in_port: 5 }, data: Buffer.from('aabbccdd', 'hex'),
    },
  },
  {
    name: 'packet_out',
    hex: `04 0d 002a 00000012 | ffffffff # no buffer | fffffffd # in_port CONTROLLER | 0010 # actions_len
          000000000000 | 0000 0010 00000001 0000 000000000000 # output:1 | abcd # data`,
    msg: {
      type: 'packet_out', xid: 18, bufferId: NO_BUFFER, inPort: 'controller', actions: [{ type: 'output', port: 1 }],
      data: Buffer.from('abcd', 'hex'),
    },
  },
  {
    name: 'flow_removed',
    hex: `04 0b 0040 00000000 | 0000000000000007 # cookie | 0064 # prio | 00 # IDLE_TIMEOUT | 02 # table
          0000000a # sec | 00000005 # nsec | 003c 0000 # idle/hard
          0000000000000003 # packets | 00000000000000b4 # bytes
          0001 000c 0001 00 04 00000009 00000000 # reg0=9`,
    msg: {
      type: 'flow_removed', xid: 0, cookie: 7n, priority: 100, reason: 'idle_timeout', tableId: 2, durationSec: 10,
      durationNsec: 5, idleTimeout: 60, hardTimeout: 0, packetCount: 3n, byteCount: 180n, match: { reg0: 9 },
    },
  },
  {
    name: 'port_status',
    hex: `04 0c 0050 00000000 | 00 # ADD | 00000000000000 ${PORT_DESC_HEX}`,
    msg: { type: 'port_status', xid: 0, reason: 'add', desc: PORT_DESC },
  },
  { name: 'barrier_request', hex: '04 14 0008 00000013', msg: { type: 'barrier_request', xid: 19 } },
  { name: 'barrier_reply', hex: '04 15 0008 00000013', msg: { type: 'barrier_reply', xid: 19 } },
  {
    name: 'flow stats request',
    hex: `04 12 0038 00000014 | 0001 # FLOW | 0000 | 00000000
          ff 000000 | ffffffff | ffffffff | 00000000 | 0000000000000000 | 0000000000000000
          0001 0004 00000000`,
    msg: {
      type: 'flow_stats_request', xid: 20, flags: 0, tableId: 0xff, outPort: 'any', outGroup: 0xffffffff,
      cookie: 0n, cookieMask: 0n, match: {},
    },
  },
  {
    name: 'flow stats reply',
    hex: `04 13 0058 00000014 | 0001 | 0001 # MORE | 00000000
          0048 # entry length 72 | 03 # table | 00 | 00000002 # sec | 00000003 # nsec
          0064 # prio | 000a # idle | 0000 # hard | 0001 # SEND_FLOW_REM | 00000000
          0000000000000009 # cookie | 0000000000000004 # packets | 0000000000000100 # bytes
          0001 000a 8000 0a 02 0806 000000000000 # match arp
          0001 0008 04 000000 # goto_table:4`,
    msg: {
      type: 'flow_stats_reply', xid: 20, more: true,
      stats: [
        {
          tableId: 3, durationSec: 2, durationNsec: 3, priority: 100, idleTimeout: 10, hardTimeout: 0,
          flags: { sendFlowRem: true }, cookie: 9n, packetCount: 4n, byteCount: 256n, match: { eth_type: 0x0806 },
          instructions: [{ type: 'goto_table', tableId: 4 }],
        },
      ],
    },
  },
  {
    name: 'port desc request',
    hex: '04 12 0010 00000015 | 000d # PORT_DESC | 0000 | 00000000',
    msg: { type: 'port_desc_request', xid: 21 },
  },
  {
    name: 'port desc reply',
    hex: `04 13 0050 00000015 | 000d 0000 00000000 ${PORT_DESC_HEX}`,
    msg: { type: 'port_desc_reply', xid: 21, more: false, ports: [PORT_DESC] },
  },
  {
    name: 'group desc request',
    hex: '04 12 0010 00000016 | 0007 0000 00000000',
    msg: { type: 'group_desc_request', xid: 22 },
  },
  {
    name: 'group desc reply',
    hex: `04 13 0038 00000016 | 0007 0000 00000000
          0028 # length 40 | 00 # ALL | 00 | 00000001
          0020 0000 ffffffff ffffffff 00000000 | 0000 0010 00000002 0000 000000000000`,
    msg: {
      type: 'group_desc_reply', xid: 22, more: false,
      groups: [
        {
          groupType: 'all', groupId: 1,
          buckets: [{ weight: 0, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 2 }] }],
        },
      ],
    },
  },
  {
    name: 'port stats request',
    hex: '04 12 0018 00000017 | 0004 # PORT_STATS | 0000 00000000 | ffffffff # OFPP_ANY | 00000000',
    msg: { type: 'port_stats_request', xid: 23, portNo: 'any' },
  },
  {
    name: 'port stats reply with MORE',
    hex: `04 13 0080 00000017 | 0004 0001 00000000 | 00000002 00000000
          0000000000000001 0000000000000002 0000000000000003 0000000000000004 # rx/tx packets, rx/tx bytes
          0000000000000005 0000000000000006 0000000000000007 0000000000000008 # dropped, errors
          0000000000000009 000000000000000a 000000000000000b 000000000000000c # frame, over, crc, collisions
          0000000d 0000000e # duration`,
    msg: {
      type: 'port_stats_reply', xid: 23, more: true,
      stats: [
        {
          portNo: 2, rxPackets: 1n, txPackets: 2n, rxBytes: 3n, txBytes: 4n, rxDropped: 5n, txDropped: 6n,
          rxErrors: 7n, txErrors: 8n, rxFrameErr: 9n, rxOverErr: 10n, rxCrcErr: 11n, collisions: 12n,
          durationSec: 13, durationNsec: 14,
        },
      ],
    },
  },
  {
    name: 'role_request',
    hex: '04 18 0018 00000018 | 00000002 # MASTER | 00000000 | 0000000000000005',
    msg: { type: 'role_request', xid: 24, role: 'master', generationId: 5n },
  },
  {
    name: 'role_reply',
    hex: '04 19 0018 00000018 | 00000003 # SLAVE | 00000000 | 0000000000000005',
    msg: { type: 'role_reply', xid: 24, role: 'slave', generationId: 5n },
  },
  { name: 'get_async_request', hex: '04 1a 0008 00000019', msg: { type: 'get_async_request', xid: 25 } },
  {
    name: 'get_async_reply',
    hex: '04 1b 0020 00000019 | 00000003 00000000 | 00000007 00000007 | 0000000f 00000000',
    msg: {
      type: 'get_async_reply', xid: 25, packetInMask: [3, 0], portStatusMask: [7, 7], flowRemovedMask: [15, 0],
    },
  },
  {
    name: 'set_async',
    hex: '04 1c 0020 0000001a | 00000001 00000000 | 00000007 00000000 | 00000000 00000000',
    msg: { type: 'set_async', xid: 26, packetInMask: [1, 0], portStatusMask: [7, 0], flowRemovedMask: [0, 0] },
  },
  {
    name: 'bundle open',
    hex: '04 04 0018 0000001b | 4f4e4600 # ONF | 000008fc # 2300 | 00000001 # bundle | 0000 # OPEN | 0003 # atomic+ordered',
    msg: { type: 'bundle_control', xid: 27, bundleId: 1, ctrlType: 'open_request', flags: { atomic: true, ordered: true } },
  },
  {
    name: 'bundle commit reply',
    hex: '04 04 0018 0000001c | 4f4e4600 000008fc | 00000001 | 0005 # COMMIT_REPLY | 0000',
    msg: { type: 'bundle_control', xid: 28, bundleId: 1, ctrlType: 'commit_reply', flags: {} },
  },
  {
    name: 'bundle add flow_mod',
    hex: `04 04 0050 0000001d | 4f4e4600 000008fd # 2301 | 00000001 | 0000 | 0001 # atomic
          04 0e 0038 0000001d | 0000000000000000 0000000000000000 ff 03 0000 0000 0000
          ffffffff ffffffff ffffffff 0000 0000 | 0001 0004 00000000`,
    msg: {
      type: 'bundle_add', xid: 29, bundleId: 1, flags: { atomic: true },
      message: {
        type: 'flow_mod', xid: 29, command: 'delete', tableId: 0xff, priority: 0, cookie: 0n, cookieMask: 0n,
        idleTimeout: 0, hardTimeout: 0, flags: {}, bufferId: NO_BUFFER, outPort: 'any', outGroup: 0xffffffff,
        match: {}, instructions: [],
      },
    },
  },
  {
    name: 'NXT_SET_PACKET_IN_FORMAT',
    hex: '04 04 0014 0000001e | 00002320 00000010 | 00000002 # NXPIF_NXT_PACKET_IN2',
    msg: { type: 'set_packet_in_format', xid: 30, format: 'nxt_packet_in2' },
  },
  {
    name: 'NXT_SET_CONTROLLER_ID',
    hex: '04 04 0018 0000001f | 00002320 00000014 | 000000000000 0007',
    msg: { type: 'set_controller_id', xid: 31, controllerId: 7 },
  },
  {
    name: 'NXT_TLV_TABLE_MOD add',
    hex: `04 04 0020 00000020 | 00002320 00000018 | 0000 # ADD | 000000000000
          0102 # class | 80 # type | 04 # len | 0000 # tun_metadata0 | 0000`,
    msg: {
      type: 'tlv_table_mod', xid: 32, command: 'add', mappings: [{ optClass: 0x102, optType: 0x80, optLen: 4, index: 0 }],
    },
  },
  {
    name: 'NXT_TLV_TABLE_MOD clear',
    hex: '04 04 0018 00000021 | 00002320 00000018 | 0002 000000000000',
    msg: { type: 'tlv_table_mod', xid: 33, command: 'clear', mappings: [] },
  },
  {
    name: 'NXT_TLV_TABLE_REQUEST',
    hex: '04 04 0010 00000022 | 00002320 00000019',
    msg: { type: 'tlv_table_request', xid: 34 },
  },
  {
    name: 'NXT_TLV_TABLE_REPLY',
    hex: `04 04 0028 00000022 | 00002320 0000001a | 00000100 # max space | 0040 # max fields | 00000000000000000000
          0102 80 08 0001 0000`,
    msg: {
      type: 'tlv_table_reply', xid: 34, maxOptionSpace: 256, maxFields: 64,
      mappings: [{ optClass: 0x102, optType: 0x80, optLen: 8, index: 1 }],
    },
  },
  {
    name: 'NXT_PACKET_IN2',
    hex: `04 04 0070 00000000 | 00002320 0000001e
          0000 0006 aabb 0000 # PACKET
          0001 0008 0000000e # FULL_LEN 14
          0002 0008 ffffffff # BUFFER_ID
          0003 0005 03 000000 # TABLE_ID 3
          0004 0010 00000000 0000000000000055 # COOKIE (4 bytes pad then be64)
          0005 0005 01 000000 # REASON action
          0006 0014 8000 00 04 00000002 0001 00 04 00000001 00000000 # METADATA in_port=2 reg0=1
          0007 0006 0102 0000 # USERDATA
          0008 0008 00000004 # CONTINUATION (opaque)`,
    msg: {
      type: 'packet_in2', xid: 0, packet: Buffer.from('aabb', 'hex'), fullLen: 14, bufferId: NO_BUFFER, tableId: 3,
      cookie: 0x55n, reason: 'action', metadata: { in_port: 2, reg0: 1 }, userdata: Buffer.from([1, 2]),
      continuation: Buffer.from('00000004', 'hex'),
    },
  },
  {
    name: 'NXT_RESUME',
    hex: `04 04 0030 00000023 | 00002320 0000001c
          0000 0006 aabb 0000 # PACKET
          0006 000c 8000 00 04 00000002 00000000 # METADATA in_port=2
          0008 0008 00000004 # CONTINUATION`,
    msg: {
      type: 'resume', xid: 35, packet: Buffer.from('aabb', 'hex'), metadata: { in_port: 2 },
      continuation: Buffer.from('00000004', 'hex'),
    },
  },
  {
    name: 'unknown experimenter message',
    hex: '04 04 0014 00000024 | 00001234 00000001 | 01020304',
    msg: { type: 'experimenter', xid: 36, experimenter: 0x1234, expType: 1, data: Buffer.from([1, 2, 3, 4]) },
  },
  {
    name: 'unknown message type (PORT_MOD) kept raw',
    hex: '04 10 000c 00000025 | 01020304',
    msg: { type: 'unknown', xid: 37, version: 4, msgType: 16, raw: Buffer.from('0410000c0000002501020304', 'hex') },
  },
  {
    name: 'unknown multipart (DESC) kept raw',
    hex: '04 12 0010 00000026 | 0000 0000 00000000',
    msg: { type: 'unknown', xid: 38, version: 4, msgType: 18, raw: Buffer.from('04120010000000260000000000000000', 'hex') },
  },
];
