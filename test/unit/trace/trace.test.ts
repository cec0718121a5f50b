/**
 * `wyvern trace` parser + annotator on ofproto/trace text captured from a real run (two chassis
 * with the dummy datapath, networks blue/red joined by router r1; see fixtures/).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { explainTrace, namesFromRecords, NO_NAMES } from '../../../src/trace/annotate.js';
import { parseAction, parseTrace } from '../../../src/trace/parse.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string): string => readFileSync(path.join(here, 'fixtures', `${name}.txt`), 'utf8');
const names = namesFromRecords(JSON.parse(readFileSync(path.join(here, 'fixtures', 'records.json'), 'utf8')));
/** The pipeline layout the fixtures were captured with (stages added since renumber the tables). */
const LAYOUT = (JSON.parse(readFileSync(path.join(here, 'fixtures', 'stages.json'), 'utf8')) as { stages: string[] }).stages;
const explain = (name: string) => explainTrace(parseTrace(fixture(name)), names, LAYOUT);

describe('parseTrace', () => {
  it('parses table lines, cookies, actions and the datapath actions', () => {
    const t = parseTrace(fixture('routed'));
    expect(t.bridge).toBe('br-int');
    expect(t.flow).toMatch(/^icmp,in_port=2,/);
    expect(t.steps.map((s) => s.table)).toEqual([0, 2, 3, 7, 8, 9, 12, 15]);
    expect(t.steps[0]).toMatchObject({ match: 'in_port=2', priority: 100, cookie: 0x300000000000003n, noMatch: false });
    expect(t.steps[2]).toMatchObject({ match: '', priority: 0, cookie: 0x100000000000000n });
    expect(t.steps[0].actions.map((a) => a.kind)).toEqual(['set_field', 'set_field', 'goto_table']);
    expect(t.steps[6].actions[1]).toMatchObject({ kind: 'note' });
    expect(t.datapathActions).toBe('set(eth(src=fa:16:3e:05:dc:9a,dst=fa:16:3e:11:a9:9e)),set(ipv4(ttl=63)),2');
    expect(t.finalFlow).toContain('nw_ttl=63');
  });

  it('attaches group bucket actions to their bucket, nested steps deeper', () => {
    const t = parseTrace(fixture('broadcast_flood'));
    const buckets = t.events.filter((e) => e.type === 'bucket');
    expect(buckets.map((b) => b.actions.map((a) => a.text))).toEqual([
      ['set_field:0x3->reg15', 'resubmit(,18)'],
      ['set_field:198.51.100.12->tun_dst', 'set_field:0xc->tun_id', 'set_field:0->tun_metadata0', 'output:1'],
    ]);
    const nested = t.steps.filter((s) => s.bucket === 0);
    expect(nested.map((s) => s.table)).toEqual([18, 22]);
    expect(nested[0].depth).toBeGreaterThan(t.steps[0].depth);
    expect(nested[1].actions.map((a) => a.kind)).toEqual(['output', 'note']);
  });

  it('parses single actions', () => {
    expect(parseAction('set_field:0xc->metadata')).toMatchObject({ kind: 'set_field', field: 'metadata', value: '0xc' });
    expect(parseAction('load:0x5->NXM_NX_REG15[]')).toMatchObject({ kind: 'set_field', field: 'reg15', value: '0x5' });
    expect(parseAction('output:3')).toMatchObject({ kind: 'output', value: '3' });
    expect(parseAction('group:268435468')).toMatchObject({ kind: 'group', value: '268435468' });
    expect(parseAction('controller(reason=action,userdata=00.00.00.03)').kind).toBe('controller');
    const out = explainTrace(parseTrace('Flow: ip\n\nbridge("br-int")\n 0. in_port=1, priority 100, cookie 0x100000000000000\n    output:CONTROLLER\n\nDatapath actions: userspace(pid=0)\n'));
    expect(out.summary).toBe('controller');
  });

  it('parses "No match." steps', () => {
    const t = parseTrace('Flow: ip,in_port=9\n\nbridge("br-int")\n----------------\n 0. No match.\n    drop\n\nFinal flow: unchanged\nMegaflow: recirc_id=0\nDatapath actions: drop\n');
    expect(t.steps).toEqual([expect.objectContaining({ table: 0, noMatch: true })]);
    expect(explainTrace(t).summary).toBe('drop in classify (no flow)');
  });
});

describe('explainTrace', () => {
  it('names a routed packet: ports, networks, router, tunnel', () => {
    const e = explain('routed');
    expect(e.summary).toBe('port vm1 → network blue → router r1 → network red → port vm2 (tunnel to 198.51.100.12)');
    expect(e.dropped).toBe(false);
    expect(e.lines).toContain('[8] l2_lookup: router r1 — metadata=0xc,dl_dst=fa:16:3e:e5:37:87, priority 110');
    expect(e.lines).toContain('[15] l3_nexthop: port vm2 (129ada34) — ip,reg0=0xa0200f6,reg13=0x4, priority 100');
    expect(e.lines).toContain('    set_field:0xc->metadata  (network blue)');
    expect(e.lines).toContain('    goto_table:9  (l3_input)');
    expect(e.lines[e.lines.length - 1]).toMatch(/^datapath actions: set\(eth/);
  });

  it('names an L2 packet to a remote port', () => {
    expect(explain('l2_remote').summary).toBe('port vm1 → network blue → port vm3 (tunnel to 198.51.100.12)');
  });

  it('says where and why a packet is dropped', () => {
    const e = explain('spoofed_drop');
    expect(e.dropped).toBe(true);
    expect(e.summary).toBe('port vm1 → network blue → drop in port_sec_in (miss flow)');
  });

  it('follows flood group buckets with their own register state', () => {
    const e = explain('broadcast_flood');
    expect(e.summary).toBe('port vm1 → network blue → { port vm1 (skipped: input port), tunnel to 198.51.100.12 (flood) }');
    expect(e.lines).toContain('    group:268435468  (flood in network blue)');
  });

  it('explains a packet arriving from a tunnel', () => {
    expect(explain('from_tunnel').summary).toBe('tunnel from 198.51.100.11 → network red → port vm2');
  });

  it('names the physical network (localnet) as a destination, not as a port key', () => {
    const t = parseTrace('Flow: ip,in_port=2\n\nbridge("br-int")\n 0. in_port=2, priority 100, cookie 0x300000000000003\n    set_field:0xc->metadata\n    set_field:0xfffffe->reg15\n    output:7\n\nDatapath actions: 7\n');
    const e = explainTrace(t, names, LAYOUT);
    expect(e.summary).toBe('network blue → physical network of network blue');
    expect(e.lines).toContain('    set_field:0xfffffe->reg15  (output to the physical network)');
  });

  it('reads a trace with the stage layout it was taken with', () => {
    const shifted = ['classify', 'tunnel_in', 'port_sec_in', 'acl_egress', 'acl_egress_state', 'acl_egress_rules', 'acl_egress_commit', 'services', 'elsewhere'];
    const e = explainTrace(parseTrace(fixture('routed')), names, shifted);
    expect(e.lines).toContain('[8] elsewhere: router r1 — metadata=0xc,dl_dst=fa:16:3e:e5:37:87, priority 110');
    expect(e.lines).toContain('[15] table 15: port vm2 (129ada34) — ip,reg0=0xa0200f6,reg13=0x4, priority 100');
  });

  it('falls back to keys without the store', () => {
    const e = explainTrace(parseTrace(fixture('routed')), NO_NAMES, LAYOUT);
    expect(e.summary).toBe('port #3 → network #12 → router #4 → network #2 → port #4 (tunnel to 198.51.100.12)');
  });
});
