// Feed what our encoder produces to `ovs-ofctl ofp-print` (OVS's own decoder) and check that OVS
// reads back the flow we meant.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../../src/openflow/codec.js';
import type { Action, CodecOptions, Match, OfMessage } from '../../../src/openflow/types.js';

const OVS_OFCTL = '/usr/bin/ovs-ofctl';
const run = promisify(execFile);

async function ofpPrint(msg: OfMessage, opts?: CodecOptions): Promise<string> {
  const { stdout, stderr } = await run(OVS_OFCTL, ['ofp-print', encodeMessage(msg, opts).toString('hex')]);
  const out = stdout + stderr;
  expect(out).not.toContain('decode error');
  return out;
}

function flowMod(match: Match, actions: readonly Action[], extra: Partial<OfMessage> = {}): OfMessage {
  return {
    type: 'flow_mod', xid: 1, command: 'add', tableId: 10, priority: 200, cookie: 0xabcn, cookieMask: 0n,
    idleTimeout: 0, hardTimeout: 0, flags: {}, bufferId: 0xffffffff, outPort: 'any', outGroup: 0xffffffff,
    match, instructions: actions.length ? [{ type: 'apply_actions', actions }] : [], ...extra,
  } as OfMessage;
}

const MATCHES: readonly { match: Match; expect: readonly string[]; opts?: CodecOptions }[] = [
  { match: { in_port: 7 }, expect: ['in_port=7'] },
  { match: { metadata: { value: 0x10n, mask: 0xf0n } }, expect: ['metadata=0x10/0xf0'] },
  {
    match: { eth_src: '02:00:00:00:00:01', eth_dst: { value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' } },
    expect: ['dl_src=02:00:00:00:00:01', 'dl_dst=01:00:00:00:00:00/01:00:00:00:00:00'],
  },
  { match: { vlan_vid: 0x1000 | 100, vlan_pcp: 5 }, expect: ['dl_vlan=100', 'dl_vlan_pcp=5'] },
  {
    match: { eth_type: 0x0800, ip_proto: 6, ip_dscp: 46, ip_ecn: 1, nw_ttl: 9, ipv4_src: '10.0.0.1', ipv4_dst: { value: '10.1.0.0', mask: '255.255.0.0' }, tcp_src: 1234, tcp_dst: 80 },
    expect: ['tcp,', 'nw_src=10.0.0.1', 'nw_dst=10.1.0.0/16', 'nw_tos=184', 'nw_ecn=1', 'nw_ttl=9', 'tp_src=1234', 'tp_dst=80'],
  },
  {
    match: { eth_type: 0x0800, ip_proto: 17, udp_src: 68, udp_dst: 67 },
    expect: ['udp,', 'tp_src=68', 'tp_dst=67'],
  },
  { match: { eth_type: 0x0800, ip_proto: 1, icmpv4_type: 8, icmpv4_code: 0 }, expect: ['icmp,', 'icmp_type=8', 'icmp_code=0'] },
  {
    match: { eth_type: 0x0806, arp_op: 1, arp_spa: '192.168.1.1', arp_tpa: '192.168.1.2', arp_sha: '02:00:00:00:00:0a', arp_tha: '00:00:00:00:00:00' },
    expect: ['arp,', 'arp_spa=192.168.1.1', 'arp_tpa=192.168.1.2', 'arp_op=1', 'arp_sha=02:00:00:00:00:0a', 'arp_tha=00:00:00:00:00:00'],
  },
  {
    match: { eth_type: 0x86dd, ipv6_src: 'fe80::1', ipv6_dst: { value: '2001:db8::', mask: 'ffff:ffff::' } },
    expect: ['ipv6,', 'ipv6_src=fe80::1', 'ipv6_dst=2001:db8::/32'],
  },
  {
    match: { eth_type: 0x86dd, ip_proto: 58, icmpv6_type: 135, icmpv6_code: 0, nd_target: '2001:db8::7', nd_sll: '02:00:00:00:00:07' },
    expect: ['icmp6,', 'icmp_type=135', 'nd_target=2001:db8::7', 'nd_sll=02:00:00:00:00:07'],
  },
  {
    match: { eth_type: 0x86dd, ip_proto: 58, icmpv6_type: 136, nd_tll: '02:00:00:00:00:08' },
    expect: ['icmp_type=136', 'nd_tll=02:00:00:00:00:08'],
  },
  {
    match: { tunnel_id: 0x55n, tun_ipv4_src: '172.16.0.1', tun_ipv4_dst: '172.16.0.2' },
    expect: ['tun_id=0x55', 'tun_src=172.16.0.1', 'tun_dst=172.16.0.2'],
  },
  { match: { tun_metadata0: 0x1234n }, expect: ['tun_metadata0=0x1234'] },
  {
    // ofp-print has no TLV table, so it shows the value only (the mask bytes are checked by unit fixtures).
    match: { tun_metadata7: { value: 0x10n, mask: 0xffn } },
    expect: ['tun_metadata7=0x10'],
    opts: { tunMetadataLengths: { 7: 8 } },
  },
  { match: { reg0: 1, reg3: 5, reg15: { value: 2, mask: 0xf } }, expect: ['reg0=0x1', 'reg3=0x5', 'reg15=0x2/0xf'] },
  { match: { xreg2: 0x100000002n }, /* xreg2 = reg4 (high word) : reg5 */ expect: ['reg4=0x1', 'reg5=0x2'] },
  { match: { xxreg1: (1n << 96n) | 3n }, expect: ['reg4=0x1', 'reg7=0x3'] },
  { match: { pkt_mark: 0x9 }, expect: ['pkt_mark=0x9'] },
  { match: { conj_id: 42 }, expect: ['conj_id=42'] },
  {
    match: { ct_state: { value: 0x22, mask: 0x23 }, ct_zone: 3, ct_mark: { value: 1, mask: 1 }, ct_label: 0x5n },
    expect: ['ct_state=-new+est+trk', 'ct_zone=3', 'ct_mark=0x1/0x1', 'ct_label=0x5'],
  },
];

const ACTIONS: readonly { actions: readonly Action[]; expect: string; match?: Match }[] = [
  { actions: [{ type: 'output', port: 3 }, { type: 'output', port: 'in_port' }], expect: 'actions=output:3,IN_PORT' },
  {
    actions: [
      { type: 'output', port: 'normal' }, { type: 'output', port: 'flood' }, { type: 'output', port: 'all' },
      { type: 'output', port: 'local' }, { type: 'output', port: 'controller', maxLen: 128 },
    ],
    expect: 'actions=NORMAL,FLOOD,ALL,LOCAL,CONTROLLER:128',
  },
  { actions: [{ type: 'group', groupId: 9 }], expect: 'actions=group:9' },
  {
    actions: [
      { type: 'set_field', field: 'eth_src', value: '02:00:00:00:00:aa' },
      { type: 'set_field', field: 'eth_dst', value: '02:00:00:00:00:bb' },
      { type: 'dec_ttl' },
    ],
    match: { eth_type: 0x0800 },
    expect: 'actions=set_field:02:00:00:00:00:aa->eth_src,set_field:02:00:00:00:00:bb->eth_dst,dec_ttl',
  },
  {
    actions: [{ type: 'set_field', field: 'reg3', value: 5 }, { type: 'set_field', field: 'tunnel_id', value: 0x10n }],
    expect: 'actions=set_field:0x5->reg3,set_field:0x10->tun_id',
  },
  {
    actions: [{ type: 'set_field', field: 'ipv4_dst', value: '10.0.0.9' }],
    match: { eth_type: 0x0800 },
    expect: 'actions=set_field:10.0.0.9->ip_dst',
  },
  {
    actions: [{ type: 'push_vlan', ethertype: 0x8100 }, { type: 'set_field', field: 'vlan_vid', value: 0x1000 | 5 }],
    expect: 'actions=push_vlan:0x8100,set_field:4101->vlan_vid',
  },
  { actions: [{ type: 'pop_vlan' }], match: { vlan_vid: 0x1000 | 5 }, expect: 'actions=pop_vlan' },
  {
    actions: [{ type: 'resubmit', port: 4 }, { type: 'resubmit', table: 12 }, { type: 'resubmit', port: 2, table: 13 }],
    expect: 'actions=resubmit:4,resubmit(,12),resubmit(2,13)',
  },
  {
    match: { eth_type: 0x0800 },
    actions: [
      {
        type: 'ct', commit: true, zone: { field: 'reg13', ofs: 0, nbits: 16 },
        nat: { kind: 'src', ipv4Min: '172.24.4.10', ipv4Max: '172.24.4.20', portMin: 1024, portMax: 65535, random: true },
      },
    ],
    expect: 'actions=ct(commit,zone=NXM_NX_REG13[0..15],nat(src=172.24.4.10-172.24.4.20:1024-65535,random))',
  },
  {
    match: { eth_type: 0x0800 },
    actions: [{ type: 'ct', table: 20, zone: 7, nat: {} }],
    expect: 'actions=ct(table=20,zone=7,nat)',
  },
  {
    match: { eth_type: 0x0800 },
    actions: [
      {
        type: 'ct', commit: true, zone: 7,
        nat: { kind: 'dst', ipv4Min: '10.0.0.5' },
        actions: [
          { type: 'set_field', field: 'ct_mark', value: 1 },
          { type: 'set_field', field: 'ct_label', value: 0x2n },
        ],
      },
    ],
    expect: 'actions=ct(commit,zone=7,nat(dst=10.0.0.5),exec(set_field:0x1->ct_mark,set_field:0x2->ct_label))',
  },
  {
    match: { eth_type: 0x0800, ip_proto: 6 },
    actions: [{ type: 'ct', commit: true, alg: 21 }],
    expect: 'actions=ct(commit,alg=ftp)',
  },
  { actions: [{ type: 'ct_clear' }], expect: 'actions=ct_clear' },
  { actions: [{ type: 'conjunction', id: 5, clause: 1, nClauses: 2 }], expect: 'actions=conjunction(5,1/2)' },
  {
    actions: [{ type: 'move', src: { field: 'reg1', ofs: 0, nbits: 16 }, dst: { field: 'tun_metadata0', ofs: 16, nbits: 16 } }],
    expect: 'actions=move:NXM_NX_REG1[0..15]->NXM_NX_TUN_METADATA0[16..31]',
  },
  {
    actions: [{ type: 'move', src: { field: 'eth_src', ofs: 0, nbits: 48 }, dst: { field: 'eth_dst', ofs: 0, nbits: 48 } }],
    expect: 'actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]',
  },
  {
    actions: [{ type: 'load', dst: { field: 'reg13', ofs: 0, nbits: 16 }, value: 0x5n }],
    expect: 'actions=load:0x5->NXM_NX_REG13[0..15]',
  },
  { actions: [{ type: 'note', data: Buffer.from('cafe', 'hex') }], expect: 'actions=note:ca.fe' },
  {
    actions: [{ type: 'controller2', maxLen: 200, reason: 'no_match', controllerId: 2, userdata: Buffer.from('0a0b', 'hex'), pause: true }],
    expect: 'actions=controller(reason=no_match,max_len=200,id=2,userdata=0a.0b,pause)',
  },
  { actions: [{ type: 'controller2', userdata: Buffer.from('01', 'hex') }], expect: 'actions=controller(userdata=01)' },
];

describe('ovs-ofctl ofp-print reads our encoding', () => {
  for (const m of MATCHES) {
    it(`match ${Object.keys(m.match).join(',')}`, async () => {
      const out = await ofpPrint(flowMod(m.match, [{ type: 'output', port: 1 }]), m.opts);
      for (const e of m.expect) expect(out).toContain(e);
    });
  }

  for (const a of ACTIONS) {
    it(`actions ${a.expect}`, async () => {
      const out = await ofpPrint(flowMod(a.match ?? {}, a.actions));
      expect(out).toContain(a.expect);
    });
  }

  it('flow_mod header fields, flags and every instruction', async () => {
    const out = await ofpPrint(
      flowMod({ reg3: 5 }, [{ type: 'output', port: 2 }], {
        command: 'modify_strict', idleTimeout: 30, hardTimeout: 300, cookie: 0x99n,
        flags: { sendFlowRem: true, checkOverlap: true, resetCounts: true },
        instructions: [
          { type: 'meter', meterId: 4 },
          { type: 'apply_actions', actions: [{ type: 'output', port: 2 }] },
          { type: 'clear_actions' },
          { type: 'write_actions', actions: [{ type: 'group', groupId: 3 }] },
          { type: 'write_metadata', metadata: 0x10n, mask: 0xffn },
          { type: 'goto_table', tableId: 11 },
        ],
      } as Partial<OfMessage>),
    );
    expect(out).toContain('MOD_STRICT table:10 priority=200,reg3=0x5 idle:30 hard:300');
    expect(out).toContain('send_flow_rem check_overlap reset_counts');
    expect(out).toContain(
      'actions=meter:4,output:2,clear_actions,write_actions(group:3),write_metadata:0x10/0xff,goto_table:11',
    );
  });

  it('flow_mod delete by cookie', async () => {
    const out = await ofpPrint(
      flowMod({}, [], { command: 'delete', tableId: 0xff, cookie: 0x100n, cookieMask: 0xff00n } as Partial<OfMessage>),
    );
    expect(out).toContain('DEL table:255 priority=200 cookie:0x100/0xff00');
  });

  it('group_mod select / ff', async () => {
    let out = await ofpPrint({
      type: 'group_mod', xid: 2, command: 'add', groupType: 'select', groupId: 5,
      buckets: [
        { weight: 10, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 1 }] },
        { weight: 20, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 2 }] },
      ],
    });
    expect(out).toContain('ADD group_id=5,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,actions=output:2');
    out = await ofpPrint({
      type: 'group_mod', xid: 3, command: 'modify', groupType: 'ff', groupId: 6,
      buckets: [{ weight: 0, watchPort: 4, watchGroup: 0xffffffff, actions: [{ type: 'output', port: 4 }] }],
    });
    expect(out).toContain('MOD group_id=6,type=ff,bucket=watch_port:4,actions=output:4');
  });

  it('meter_mod', async () => {
    const out = await ofpPrint({
      type: 'meter_mod', xid: 4, command: 'add', flags: { pktps: true, burst: true }, meterId: 3,
      bands: [{ type: 'drop', rate: 100, burstSize: 10 }],
    });
    expect(out).toContain('ADD meter=3 pktps burst bands=');
    expect(out).toContain('type=drop rate=100 burst_size=10');
  });

  it('packet_out', async () => {
    const out = await ofpPrint({
      type: 'packet_out', xid: 5, bufferId: 0xffffffff, inPort: 'controller',
      actions: [{ type: 'set_field', field: 'reg0', value: 1 }, { type: 'resubmit', table: 0 }],
      data: Buffer.from('ffffffffffff0200000000010806', 'hex'),
    });
    expect(out).toContain('in_port=CONTROLLER actions=set_field:0x1->reg0,resubmit(,0) data_len=14');
  });

  it('bundle control and bundle add with inner flow_mod and group_mod', async () => {
    let out = await ofpPrint({ type: 'bundle_control', xid: 6, bundleId: 3, ctrlType: 'commit_request', flags: { atomic: true } });
    expect(out).toContain('bundle_id=0x3 type=COMMIT_REQUEST flags=atomic');
    out = await ofpPrint({
      type: 'bundle_add', xid: 7, bundleId: 3, flags: { atomic: true, ordered: true },
      message: { ...flowMod({ reg3: 5 }, [{ type: 'output', port: 1 }]), xid: 7 } as OfMessage,
    });
    expect(out).toContain('bundle_id=0x3 flags=atomic ordered');
    expect(out).toContain('ADD table:10 priority=200,reg3=0x5');
    out = await ofpPrint({
      type: 'bundle_add', xid: 8, bundleId: 3, flags: {},
      message: { type: 'group_mod', xid: 8, command: 'delete', groupType: 'all', groupId: 9, buckets: [] },
    });
    expect(out).toContain('DEL group_id=9');
  });

  it('tlv_table_mod, set_packet_in_format, set_controller_id, set_async, role', async () => {
    expect(
      await ofpPrint({
        type: 'tlv_table_mod', xid: 9, command: 'add',
        mappings: [{ optClass: 0xffff, optType: 0, optLen: 8, index: 2 }],
      }),
    ).toMatch(/0xffff\s+0\s+8\s+tun_metadata2/);
    expect(await ofpPrint({ type: 'set_packet_in_format', xid: 10, format: 'nxt_packet_in2' })).toContain(
      'format=nxt_packet_in2',
    );
    expect(await ofpPrint({ type: 'set_controller_id', xid: 11, controllerId: 9 })).toContain('id=9');
    expect(await ofpPrint({ type: 'role_request', xid: 12, role: 'master', generationId: 1n })).toContain(
      'role=primary generation_id=1',
    );
  });
});
