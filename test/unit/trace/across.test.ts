/**
 * The pure half of a trace across chassis (src/trace/hops.ts) on ofproto/trace text captured from
 * a real run (fixtures/across/: vm1 on hv1 in blue, vm2 and vm3 on hv2 in red, router r1; vm2 in
 * security group web, ingress tcp/22 only; captured by the integration test's setup).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { explainTrace, namesFromRecords, type Explanation } from '../../../src/trace/annotate.js';
import {
  packetHeaders,
  parseDpifShow,
  receiverFlow,
  splitFlow,
  storyJson,
  tellStory,
  tunnelPortOf,
  type ChassisHop,
} from '../../../src/trace/hops.js';
import { parseTrace } from '../../../src/trace/parse.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string): string => readFileSync(path.join(here, 'fixtures', 'across', name), 'utf8');
const names = namesFromRecords(JSON.parse(fixture('records.json')));
/** The pipeline layout the fixtures were captured with (stages added since renumber the tables). */
const LAYOUT = (JSON.parse(fixture('stages.json')) as { stages: string[] }).stages;
const OLD_FIXTURES_LAYOUT = (JSON.parse(readFileSync(path.join(here, 'fixtures', 'stages.json'), 'utf8')) as { stages: string[] }).stages;
const explain = (name: string): Explanation => explainTrace(parseTrace(fixture(name)), names, LAYOUT);

const HV1 = '198.51.100.11';
const HV2 = '198.51.100.12';
const sender = (name: string): ChassisHop => ({ chassis: 'hv1', tunnelIp: HV1, flow: 'f1', raw: fixture(name), explanation: explain(name) });
const receiver = (name: string): ChassisHop => ({
  chassis: 'hv2', tunnelIp: HV2, flow: 'f2', raw: fixture(name), explanation: explain(name), from: { hop: 0, exit: 0 },
});

describe('tunnel exits', () => {
  it('records what the sender put in the tunnel: tun_dst, tun_id, tun_metadata0, the logical output', () => {
    const e = explain('routed_hv1.txt');
    expect(e.exits).toEqual([
      { remoteIp: HV2, tunId: '0x11', tunMetadata0: '0x5', portKey: 5, networkKey: 17, destination: `port vm3 (tunnel to ${HV2})`, destinationIndex: 0 },
    ]);
  });

  it('records a flood copy per remote chassis with port key 0', () => {
    const e = explainTrace(parseTrace(readFileSync(path.join(here, 'fixtures', 'broadcast_flood.txt'), 'utf8')), undefined, OLD_FIXTURES_LAYOUT);
    expect(e.exits).toEqual([expect.objectContaining({ remoteIp: HV2, tunId: '0xc', tunMetadata0: '0', portKey: 0, destinationIndex: 1 })]);
  });

  it('has none for a packet delivered locally or dropped', () => {
    expect(explain('routed_hv2.txt').exits).toEqual([]);
    expect(explain('blocked_hv2.txt').exits).toEqual([]);
  });
});

describe('the packet the receiving chassis sees', () => {
  it('keeps only header fields of the (recirculated) final flow, in order', () => {
    const final = parseTrace(fixture('routed_hv1.txt')).finalFlow as string;
    expect(final).toMatch(/^recirc_id=0x1,eth,icmp,reg0=/);
    expect(packetHeaders(final)).toEqual([
      'icmp', 'vlan_tci=0x0000', 'dl_src=fa:16:3e:85:ed:0d', 'dl_dst=fa:16:3e:64:5c:f1', 'nw_src=10.1.0.245', 'nw_dst=10.2.0.201',
      'nw_tos=0', 'nw_ecn=0', 'nw_ttl=63', 'nw_frag=no', 'icmp_type=8', 'icmp_code=0',
    ]);
  });

  it('splits at top-level commas only', () => {
    expect(splitFlow('packet_type=(0,0x800),ip,nw_src=1.2.3.4')).toEqual(['packet_type=(0,0x800)', 'ip', 'nw_src=1.2.3.4']);
  });

  it('puts the tunnel metadata after the headers (Geneve: tun_metadata0; VXLAN: only the VNI)', () => {
    const [geneve] = explain('routed_hv1.txt').exits;
    expect(receiverFlow({ inPort: 'wyv-geneve', exit: geneve, tunSrc: HV1, headers: ['icmp', 'nw_ttl=63'] })).toBe(
      `icmp,nw_ttl=63,in_port=wyv-geneve,tun_id=0x11,tun_src=${HV1},tun_dst=${HV2},tun_metadata0=0x5`,
    );
    const vxlan = { remoteIp: HV2, tunId: '0x5', portKey: 5, destination: 'port vm3', destinationIndex: 0 };
    expect(receiverFlow({ inPort: 'wyv-vxlan', exit: vxlan, headers: ['ip'] })).toBe(`ip,in_port=wyv-vxlan,tun_id=0x5,tun_dst=${HV2}`);
  });

  it('finds the tunnel port in dpif/show, with or without options', () => {
    const dummy = parseDpifShow(fixture('dpif_show_hv2.txt'));
    expect(dummy.map((p) => [p.bridge, p.name, p.ofport, p.type])).toEqual([
      ['br-int', 'br-int', 65534, 'dummy-internal'],
      ['br-int', 'vm2', 2, 'system'],
      ['br-int', 'vm3', 3, 'system'],
      ['br-int', 'wyv-geneve', 1, 'geneve'],
    ]);
    expect(tunnelPortOf(dummy, 'br-int', 'geneve')?.name).toBe('wyv-geneve');
    expect(tunnelPortOf(dummy, 'br-int', 'vxlan')).toBeUndefined();
    const netdev = parseDpifShow(
      'netdev@ovs-netdev: hit:12 missed:3\n  br-int:\n    br-int 65534/1: (tap)\n    wyv-geneve 1/4: (geneve: key=flow, local_ip=198.51.100.11, remote_ip=flow)\n  br-phy:\n    br-phy 65534/2: (tap)\n    wyHV1 1/3: (system)\n',
    );
    expect(tunnelPortOf(netdev, 'br-int', 'geneve')).toEqual({
      bridge: 'br-int', name: 'wyv-geneve', ofport: 1, type: 'geneve', options: { key: 'flow', local_ip: HV1, remote_ip: 'flow' },
    });
    expect(netdev.filter((p) => p.bridge === 'br-phy').map((p) => p.name)).toEqual(['br-phy', 'wyHV1']);
  });
});

describe('the story', () => {
  it('tells a routed packet from vm1 on hv1 to its delivery to vm3 on hv2', () => {
    const s = tellStory({ hops: [sender('routed_hv1.txt'), receiver('routed_hv2.txt')], unfollowed: [] });
    expect(s.summary).toBe(
      `[hv1] port vm1 → network blue → allowed by security group default rule cfa31f79 (egress IPv4 any) → router r1 → network red → tunnel to hv2 (${HV2}) → ` +
        '[hv2] network red → allowed by security group default rule fd9f51c5 (ingress IPv4 any with security group default) → port vm3',
    );
    expect(s.destinations).toEqual(['[hv2] port vm3']);
    expect(s.dropped).toBe(false);
    const headers = s.lines.filter((l) => l.startsWith('=== '));
    expect(headers).toEqual([`=== chassis hv1 (${HV1}) ===`, `=== chassis hv2 (${HV2}), from hv1 through the tunnel ===`]);
    expect(s.lines.filter((l) => l.startsWith('chassis path: '))).toHaveLength(2);
    expect(s.lines[s.lines.length - 1]).toBe(`path: ${s.summary}`);
  });

  it('ends with the receiving chassis\' security group drop, and counts it as dropped', () => {
    const s = tellStory({ hops: [sender('blocked_hv1.txt'), receiver('blocked_hv2.txt')], unfollowed: [] });
    expect(s.summary).toMatch(/→ router r1 → network red → tunnel to hv2 \(198\.51\.100\.12\) → \[hv2\] network red → dropped by security group web of port vm2 \(no rule matched\)$/);
    expect(s.destinations).toEqual([]);
    expect(s.dropped).toBe(true);
  });

  it('says why a tunnel was not followed, and counts the copy as gone out', () => {
    const s = tellStory({ hops: [sender('routed_hv1.txt')], unfollowed: [{ hop: 0, exit: 0, chassis: 'hv2', reason: 'no appctl target for hv2' }] });
    expect(s.summary).toMatch(/→ network red → port vm3 \(tunnel to 198\.51\.100\.12\) \(not followed: no appctl target for hv2\)$/);
    expect(s.dropped).toBe(false);
    expect(s.lines).toContain('note: tunnel to hv2 not followed: no appctl target for hv2');
  });

  it('has a structured form with every hop, its steps and where its exits led', () => {
    const t = { hops: [sender('blocked_hv1.txt'), receiver('blocked_hv2.txt')], unfollowed: [] };
    const j = storyJson(t, tellStory(t)) as {
      dropped: boolean;
      hops: { chassis: string; from?: unknown; end: string; steps: { stage: string; owner?: { label: string }; verdict?: string }[]; exits: unknown[] }[];
    };
    expect(j.dropped).toBe(true);
    expect(j.hops.map((h) => h.chassis)).toEqual(['hv1', 'hv2']);
    expect(j.hops[0].exits).toEqual([expect.objectContaining({ remote_ip: HV2, tun_id: '0x11', tun_metadata0: '0x4', followed: true, hop: 1, chassis: 'hv2' })]);
    expect(j.hops[1].from).toEqual({ hop: 0, exit: 0 });
    expect(j.hops[1].end).toBe('dropped by security group web of port vm2 (no rule matched)');
    expect(j.hops[1].steps.map((s) => s.stage)).toContain('tunnel_in');
    expect(j.hops[0].steps.find((s) => s.verdict)?.verdict).toMatch(/^allowed by security group default rule/);
  });
});

describe('a native tunnel (userspace datapath)', () => {
  it('keeps the underlay bridge\'s lines as notes of the output step, not as pipeline steps', () => {
    const text = fixture('native_tunnel_hv2.txt');
    expect(text).toContain('bridge("br-phy")');
    const t = parseTrace(text);
    expect(t.bridge).toBe('br-int');
    const out = t.steps[t.steps.length - 1];
    expect(out.actions.map((a) => a.text).slice(-3)).toEqual(['[br-phy] 0. priority 0', '[br-phy] NORMAL', '[br-phy] -> forwarding to learned port']);
    expect(t.steps.filter((s) => s.actions.some((a) => a.text.startsWith('[br-phy]')))).toEqual([out]);
    const e = explainTrace(t, undefined, LAYOUT);
    expect(e.exits).toEqual([expect.objectContaining({ remoteIp: '198.51.100.13', tunId: '0xc', tunMetadata0: '0x7', portKey: 7 })]);
    expect(e.summary).toBe('port #4 → network #5 → allowed by security group rule #4 → router #16 → network #12 → port #7 (tunnel to 198.51.100.13)');
  });

  it('ends an underlay section inside a flood bucket at the next bucket: one exit per remote chassis', () => {
    const t = parseTrace(fixture('native_flood_hv2.txt'));
    const buckets = t.events.filter((e) => e.type === 'bucket');
    expect(buckets.map((b) => b.actions.filter((a) => a.kind === 'set_field' && a.field === 'tun_dst').map((a) => a.value))).toEqual([[], ['198.51.100.11'], ['198.51.100.13']]);
    const e = explainTrace(t, undefined, LAYOUT);
    expect(e.exits.map((x) => [x.remoteIp, x.tunId, x.tunMetadata0, x.portKey])).toEqual([
      ['198.51.100.11', '0x5', '0', 0],
      ['198.51.100.13', '0x5', '0', 0],
    ]);
    expect(e.summary).toBe('port #4 → network #5 → { port #4 (skipped: input port), tunnel to 198.51.100.11 (flood), tunnel to 198.51.100.13 (flood) }');
  });

  it('finds the tunnel port and its local_ip in a netdev dpif/show', () => {
    const ports = parseDpifShow(fixture('dpif_show_netdev.txt'));
    expect(tunnelPortOf(ports, 'br-int', 'geneve')).toEqual(expect.objectContaining({ name: 'wyv-geneve', options: { key: 'flow', local_ip: '198.51.100.13', remote_ip: 'flow' } }));
  });
});
