import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultSecurityGroupKey, resourceKey, securityGroupKeyKey } from '../../../src/model/keys.js';
import type { SecurityGroupRecord, SecurityGroupRuleRecord } from '../../../src/model/records.js';
import { CORE_PLUGINS } from '../../../src/server/resources/index.js';
import { expectFault, netWithSubnet, startApi, type Harness, type Json } from './helpers.js';

let h: Harness;
const P1 = { project: 'p1' };
const P2 = { project: 'p2' };

beforeEach(async () => {
  h = await startApi({ plugins: CORE_PLUGINS });
});
afterEach(() => h.close());

async function dump(): Promise<string> {
  return JSON.stringify((await h.store.range('/')).kvs.map((kv) => [kv.key, kv.value, kv.modRevision]));
}

async function group(name = 'web', as = P1): Promise<Json> {
  const r = await h.req('POST', '/v2.0/security-groups', { security_group: { name } }, as);
  if (r.status !== 201) throw new Error(JSON.stringify(r));
  return r.body.security_group;
}

function rule(sg: string, extra: Record<string, unknown>): unknown {
  return { security_group_rule: { security_group_id: sg, direction: 'ingress', ...extra } };
}

const strip = (rules: Json[]): Json[] =>
  rules.map((r) => ({ direction: r.direction, ethertype: r.ethertype, protocol: r.protocol, port_range_min: r.port_range_min, port_range_max: r.port_range_max, remote_ip_prefix: r.remote_ip_prefix, remote_group_id: r.remote_group_id }));

describe('security groups', () => {
  it('default group: created on first list with Neutron rules, once, per project; key stored', async () => {
    expect(await h.store.get(defaultSecurityGroupKey('p1'))).toBeUndefined();
    const l = await h.req('GET', '/v2.0/security-groups', undefined, P1);
    expect(l.status).toBe(200);
    expect(l.body.security_groups).toHaveLength(1);
    const d = l.body.security_groups[0];
    expect(d).toMatchObject({ name: 'default', description: 'Default security group', project_id: 'p1', tenant_id: 'p1', revision_number: 0 });
    expect(d.key).toBeUndefined();
    const rules = strip(d.security_group_rules);
    const any = { protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null };
    expect(rules).toHaveLength(4);
    expect(rules).toEqual(expect.arrayContaining([
      { direction: 'egress', ethertype: 'IPv4', ...any, remote_group_id: null },
      { direction: 'egress', ethertype: 'IPv6', ...any, remote_group_id: null },
      { direction: 'ingress', ethertype: 'IPv4', ...any, remote_group_id: d.id },
      { direction: 'ingress', ethertype: 'IPv6', ...any, remote_group_id: d.id },
    ]));
    expect((await h.req('GET', '/v2.0/security-groups', undefined, P1)).body.security_groups.map((g: Json) => g.id)).toEqual([d.id]);
    const rec = JSON.parse((await h.store.get(resourceKey('security-groups', d.id)))!.value) as SecurityGroupRecord;
    expect((await h.store.get(securityGroupKeyKey(rec.key)))!.value).toBe(d.id);
    // Rules as their own collection.
    const rl = await h.req('GET', `/v2.0/security-group-rules?security_group_id=${d.id}`, undefined, P1);
    expect(rl.body.security_group_rules).toHaveLength(4);
    expect(rl.body.security_group_rules[0].name).toBeUndefined();
    // Another project gets its own; p1's is invisible to it.
    const l2 = (await h.req('GET', '/v2.0/security-groups', undefined, P2)).body.security_groups;
    expect(l2).toHaveLength(1);
    expect(l2[0].id).not.toBe(d.id);
    expectFault(await h.req('GET', `/v2.0/security-groups/${d.id}`, undefined, P2), 404, 'SecurityGroupNotFound');
  });

  it('ports get the default group when none is given; explicit groups must be visible', async () => {
    const n = await netWithSubnet(h, '10.0.0.0/24', P1);
    const p = (await h.req('POST', '/v2.0/ports', { port: { network_id: n.net } }, P1)).body.port;
    const def = (await h.store.get(defaultSecurityGroupKey('p1')))!.value;
    expect(p.security_groups).toEqual([def]);
    const noSec = (await h.req('POST', '/v2.0/ports', { port: { network_id: n.net, port_security_enabled: false } }, P1)).body.port;
    expect(noSec.security_groups).toEqual([]);
    const web = await group();
    const other = await group('theirs', P2);
    expect((await h.req('POST', '/v2.0/ports', { port: { network_id: n.net, security_groups: [web.id] } }, P1)).body.port.security_groups).toEqual([web.id]);
    const before = await dump();
    expectFault(await h.req('POST', '/v2.0/ports', { port: { network_id: n.net, security_groups: [other.id] } }, P1), 404, 'SecurityGroupNotFound');
    expectFault(await h.req('POST', '/v2.0/ports', { port: { network_id: n.net, security_groups: ['00000000-0000-0000-0000-000000000000'] } }, P1), 404, 'SecurityGroupNotFound');
    expectFault(await h.req('POST', '/v2.0/ports', { port: { network_id: n.net, security_groups: ['nope'] } }, P1), 400, 'HTTPBadRequest');
    expectFault(await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { security_groups: [other.id] } }, P1), 404, 'SecurityGroupNotFound');
    expect(await dump()).toBe(before);
    // Concurrent first port creates of a new project: one default group.
    const n3 = await netWithSubnet(h, '10.3.0.0/24', { project: 'p3' });
    const made = await Promise.all(Array.from({ length: 8 }, () => h.req('POST', '/v2.0/ports', { port: { network_id: n3.net } }, { project: 'p3' })));
    expect(new Set(made.map((m) => m.body.port.security_groups[0])).size).toBe(1);
    expect((await h.req('GET', '/v2.0/security-groups?name=default&project_id=p3', undefined, { admin: true })).body.security_groups).toHaveLength(1);
  });

  it('create, update, delete; default group rules; in use; default protected', async () => {
    const web = await group();
    // A new group allows all egress, like Neutron's.
    expect(strip(web.security_group_rules)).toEqual(expect.arrayContaining([
      { direction: 'egress', ethertype: 'IPv4', protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null, remote_group_id: null },
      { direction: 'egress', ethertype: 'IPv6', protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null, remote_group_id: null },
    ]));
    expect(web.security_group_rules).toHaveLength(2);
    const all = (await h.req('GET', '/v2.0/security-groups', undefined, P1)).body.security_groups;
    expect(all.map((g: Json) => g.name).sort()).toEqual(['default', 'web']);
    const def = all.find((g: Json) => g.name === 'default');
    expectFault(await h.req('POST', '/v2.0/security-groups', { security_group: { name: 'default' } }, P1), 409, 'SecurityGroupDefaultAlreadyExists');
    const u = await h.req('PUT', `/v2.0/security-groups/${web.id}`, { security_group: { name: 'www', description: 'd' } }, P1);
    expect(u.body.security_group).toMatchObject({ name: 'www', description: 'd', revision_number: 1 });
    expectFault(await h.req('PUT', `/v2.0/security-groups/${def.id}`, { security_group: { name: 'x' } }, P1), 409, 'SecurityGroupCannotUpdateDefault');
    expectFault(await h.req('DELETE', `/v2.0/security-groups/${def.id}`, undefined, P1), 409, 'SecurityGroupCannotRemoveDefault');
    const n = await netWithSubnet(h, '10.0.0.0/24', P1);
    const p = (await h.req('POST', '/v2.0/ports', { port: { network_id: n.net, security_groups: [web.id] } }, P1)).body.port;
    const before = await dump();
    expectFault(await h.req('DELETE', `/v2.0/security-groups/${web.id}`, undefined, P1), 409, 'SecurityGroupInUse');
    expectFault(await h.req('DELETE', `/v2.0/security-groups/${web.id}`, undefined, P2), 404, 'SecurityGroupNotFound');
    expect(await dump()).toBe(before);
    await h.req('PUT', `/v2.0/ports/${p.id}`, { port: { security_groups: [] } }, P1);
    // A rule in the default group referring to web goes with it.
    const ref = await h.req('POST', '/v2.0/security-group-rules', rule(def.id, { remote_group_id: web.id, protocol: 'tcp' }), P1);
    expect(ref.status).toBe(201);
    expect((await h.req('DELETE', `/v2.0/security-groups/${web.id}`, undefined, P1)).status).toBe(204);
    expectFault(await h.req('GET', `/v2.0/security-group-rules/${ref.body.security_group_rule.id}`, undefined, P1), 404, 'SecurityGroupRuleNotFound');
    expect((await h.req('GET', `/v2.0/security-group-rules`, undefined, P1)).body.security_group_rules).toHaveLength(4);
    // Admin may delete a default group; the next list recreates one.
    expect((await h.req('DELETE', `/v2.0/security-groups/${def.id}`, undefined, { admin: true })).status).toBe(204);
    const again = (await h.req('GET', '/v2.0/security-groups', undefined, P1)).body.security_groups;
    expect(again).toHaveLength(1);
    expect(again[0].id).not.toBe(def.id);
  });

  it('rules: validation and Neutron faults, nothing written on error', async () => {
    const sg = (await group()).id;
    const other = (await group('o')).id;
    const before = await dump();
    const bad: [Record<string, unknown>, number, string][] = [
      [{ protocol: 'bogus' }, 400, 'SecurityGroupRuleInvalidProtocol'],
      [{ protocol: 256 }, 400, 'SecurityGroupRuleInvalidProtocol'],
      [{ protocol: 'tcp', port_range_min: 100, port_range_max: 99 }, 400, 'SecurityGroupInvalidPortRange'],
      [{ protocol: 'tcp', port_range_min: 0, port_range_max: 10 }, 400, 'SecurityGroupInvalidPortValue'],
      [{ protocol: 'udp', port_range_min: 1, port_range_max: 65536 }, 400, 'SecurityGroupInvalidPortValue'],
      [{ protocol: 'tcp', port_range_min: -16, port_range_max: 80 }, 400, 'SecurityGroupInvalidPortValue'],
      [{ protocol: 'tcp', port_range_max: 6 }, 400, 'SecurityGroupInvalidPortRange'],
      [{ protocol: 'icmp', port_range_min: -1, port_range_max: 25 }, 400, 'SecurityGroupInvalidPortValue'],
      [{ remote_group_id: 'bad_group_id' }, 404, 'SecurityGroupNotFound'],
      [{ port_range_min: 22, port_range_max: 22 }, 400, 'SecurityGroupProtocolRequiredWithPorts'],
      [{ protocol: 'gre', port_range_min: 22, port_range_max: 22 }, 400, 'SecurityGroupInvalidProtocolForPortRange'],
      [{ protocol: 'icmp', port_range_min: 256 }, 400, 'SecurityGroupInvalidIcmpValue'],
      [{ protocol: 'icmp', port_range_max: 0 }, 400, 'SecurityGroupMissingIcmpType'],
      [{ remote_ip_prefix: '10.0.0.0/8', remote_group_id: other }, 400, 'SecurityGroupRemoteGroupAndRemoteIpPrefix'],
      [{ remote_ip_prefix: '2001:db8::/32' }, 400, 'SecurityGroupRuleParameterConflict'],
      [{ ethertype: 'IPv6', remote_ip_prefix: '10.0.0.0/8' }, 400, 'SecurityGroupRuleParameterConflict'],
      [{ protocol: 'icmpv6', ethertype: 'IPv4' }, 400, 'SecurityGroupEthertypeConflictWithProtocol'],
      [{ ethertype: 'IPv5' }, 400, 'HTTPBadRequest'],
      [{ direction: 'sideways' }, 400, 'HTTPBadRequest'],
      [{ remote_ip_prefix: 'nope' }, 400, 'HTTPBadRequest'],
      [{ remote_group_id: '00000000-0000-0000-0000-000000000000' }, 404, 'SecurityGroupNotFound'],
      [{ security_group_id: '00000000-0000-0000-0000-000000000000' }, 404, 'SecurityGroupNotFound'],
    ];
    for (const [extra, status, type] of bad) expectFault(await h.req('POST', '/v2.0/security-group-rules', rule(sg, extra), P1), status, type);
    // The messages tempest looks for (test_create_security_group_rule_with_invalid_ports).
    const msg = async (extra: Record<string, unknown>): Promise<string> => (await h.req('POST', '/v2.0/security-group-rules', rule(sg, extra), P1)).body.NeutronError.message;
    expect(await msg({ protocol: 'tcp', port_range_min: -16, port_range_max: 80 })).toContain('Invalid value for port -16');
    expect(await msg({ protocol: 'tcp', port_range_min: 80, port_range_max: 65536 })).toContain('Invalid value for port 65536');
    expect(await msg({ protocol: 'tcp', port_range_max: 6 })).toContain('port_range_min must be <= port_range_max');
    expect(await msg({ protocol: 'icmp', port_range_min: 1, port_range_max: 256 })).toContain('Invalid value for ICMP code');
    expect(await msg({ protocol: 'icmp', port_range_min: 300, port_range_max: 1 })).toContain('Invalid value for ICMP type');
    expect(await msg({ protocol: 'icmp', port_range_max: 6 })).toContain('ICMP type (port-range-min) is missing');
    expectFault(await h.req('POST', '/v2.0/security-group-rules', { security_group_rule: { security_group_id: sg } }, P1), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/security-group-rules', rule(sg, {}), P2), 404, 'SecurityGroupNotFound');
    expect(await dump()).toBe(before);
  });

  it('rules: normalisation, ICMP type/code, duplicates → 409 (names and numbers alike), delete', async () => {
    const sg = (await group()).id;
    const rev0 = (await h.req('GET', `/v2.0/security-groups/${sg}`, undefined, P1)).body.security_group.revision_number;
    const ssh = await h.req('POST', '/v2.0/security-group-rules', rule(sg, { protocol: 'TCP', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '192.168.1.7/24' }), P1);
    expect(ssh.status).toBe(201);
    // A rule added (and below, removed) through the API bumps its group's revision.
    expect((await h.req('GET', `/v2.0/security-groups/${sg}`, undefined, P1)).body.security_group.revision_number).toBe(rev0 + 1);
    expect(ssh.body.security_group_rule).toMatchObject({ security_group_id: sg, direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '192.168.1.0/24', remote_group_id: null, project_id: 'p1', tenant_id: 'p1' });
    expect(ssh.body.security_group_rule.protocol_number).toBeUndefined();
    const rec = JSON.parse((await h.store.get(resourceKey('security-group-rules', ssh.body.security_group_rule.id)))!.value) as SecurityGroupRuleRecord;
    expect(rec.protocol_number).toBe(6);
    const dup = await h.req('POST', '/v2.0/security-group-rules', rule(sg, { protocol: '6', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '192.168.1.0/24' }), P1);
    expectFault(dup, 409, 'SecurityGroupRuleExists');
    expect(dup.body.NeutronError.message).toContain(ssh.body.security_group_rule.id);
    // Only min given for a port protocol: a single port.
    expect((await h.req('POST', '/v2.0/security-group-rules', rule(sg, { protocol: 'udp', port_range_min: 53 }), P1)).body.security_group_rule).toMatchObject({ port_range_min: 53, port_range_max: 53 });
    const icmp = await h.req('POST', '/v2.0/security-group-rules', rule(sg, { protocol: 'icmp', port_range_min: 8, port_range_max: 0 }), P1);
    expect(icmp.body.security_group_rule).toMatchObject({ protocol: 'icmp', port_range_min: 8, port_range_max: 0 });
    const v6 = await h.req('POST', '/v2.0/security-group-rules', rule(sg, { protocol: 'icmpv6', ethertype: 'IPv6', remote_ip_prefix: '2001:db8::1/64' }), P1);
    expect(v6.body.security_group_rule).toMatchObject({ protocol: 'icmpv6', remote_ip_prefix: '2001:db8::/64' });
    expect((await h.req('POST', '/v2.0/security-group-rules', rule(sg, { protocol: 'any', direction: 'egress', remote_ip_prefix: '0.0.0.0/0' }), P1)).status).toBe(409);
    expect((await h.req('POST', '/v2.0/security-group-rules', rule(sg, { protocol: 132, port_range_min: 5000, port_range_max: 5010 }), P1)).body.security_group_rule.protocol).toBe('132');
    expectFault(await h.req('PUT', `/v2.0/security-group-rules/${ssh.body.security_group_rule.id}`, { security_group_rule: { port_range_min: 23 } }, P1), 400, 'HTTPBadRequest');
    const shown = (await h.req('GET', `/v2.0/security-groups/${sg}`, undefined, P1)).body.security_group;
    expect(shown.security_group_rules).toHaveLength(7);
    const revBefore = (await h.req('GET', `/v2.0/security-groups/${sg}`, undefined, P1)).body.security_group.revision_number;
    expect((await h.req('DELETE', `/v2.0/security-group-rules/${ssh.body.security_group_rule.id}`, undefined, P1)).status).toBe(204);
    expect((await h.req('GET', `/v2.0/security-groups/${sg}`, undefined, P1)).body.security_group.revision_number).toBe(revBefore + 1);
    expect((await h.req('POST', '/v2.0/security-group-rules', rule(sg, { protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '192.168.1.0/24' }), P1)).status).toBe(201);
    // Concurrent duplicates: exactly one wins.
    const res = await Promise.all(Array.from({ length: 6 }, () => h.req('POST', '/v2.0/security-group-rules', rule(sg, { protocol: 'tcp', port_range_min: 443, port_range_max: 443 }), P1)));
    expect(res.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of res.filter((x) => x.status !== 201)) expectFault(r, 409, 'SecurityGroupRuleExists');
  });

  it("an admin's rule in a project's group is visible to the group's owner; tags and filters", async () => {
    const sg = await group();
    const r = await h.req('POST', '/v2.0/security-group-rules', rule(sg.id, { protocol: 'udp', port_range_min: 53 }), { admin: true });
    expect(r.body.security_group_rule.project_id).toBe('admin');
    expect((await h.req('GET', `/v2.0/security-group-rules/${r.body.security_group_rule.id}`, undefined, P1)).status).toBe(200);
    expectFault(await h.req('GET', `/v2.0/security-group-rules/${r.body.security_group_rule.id}`, undefined, P2), 404, 'SecurityGroupRuleNotFound');
    expect((await h.req('GET', `/v2.0/security-group-rules?protocol=udp`, undefined, P1)).body.security_group_rules).toHaveLength(1);
    expect((await h.req('PUT', `/v2.0/security-groups/${sg.id}/tags/blue`, undefined, P1)).status).toBe(201);
    expect((await h.req('GET', '/v2.0/security-groups?tags=blue', undefined, P1)).body.security_groups.map((g: Json) => g.id)).toEqual([sg.id]);
    const bulk = await h.req('POST', '/v2.0/security-groups', { security_groups: [{ name: 'a' }, { name: 'b' }] }, P1);
    expect(bulk.status).toBe(201);
    expect(bulk.body.security_groups.map((g: Json) => g.name)).toEqual(['a', 'b']);
    const page = await h.req('GET', '/v2.0/security-groups?limit=2&sort_key=name', undefined, P1);
    expect(page.body.security_groups).toHaveLength(2);
    expect(page.body.security_groups_links[0].rel).toBe('next');
  });

  it('group delete racing port creates that use it: never a port with a deleted group', async () => {
    const n = await netWithSubnet(h, '10.0.0.0/24', P1);
    for (let round = 0; round < 4; round++) {
      const sg = (await group(`g${round}`)).id;
      const [del, ...made] = await Promise.all([
        h.req('DELETE', `/v2.0/security-groups/${sg}`, undefined, P1),
        ...Array.from({ length: 4 }, () => h.req('POST', '/v2.0/ports', { port: { network_id: n.net, security_groups: [sg] } }, P1)),
      ]);
      const ok = made.filter((m) => m.status === 201);
      if (del.status === 204) expect(ok).toHaveLength(0);
      else {
        expectFault(del, 409, 'SecurityGroupInUse');
        expect(ok.length).toBeGreaterThan(0);
      }
      for (const m of ok) await h.req('DELETE', `/v2.0/ports/${m.body.port.id}`, undefined, P1);
    }
  });

  it('stateful: default true, false on create, refused to flip while a port uses the group; rules get a unique key, freed on delete', async () => {
    const g = await group('web');
    expect(g.stateful).toBe(true);
    const sl = await h.req('POST', '/v2.0/security-groups', { security_group: { name: 'sl', stateful: false } }, P1);
    expect(sl.status).toBe(201);
    expect(sl.body.security_group.stateful).toBe(false);
    const net = await netWithSubnet(h, '10.0.0.0/24', P1);
    const port = await h.req('POST', '/v2.0/ports', { port: { network_id: net.net, security_groups: [g.id] } }, P1);
    expect(port.status).toBe(201);
    const before = await dump();
    expectFault(await h.req('PUT', `/v2.0/security-groups/${g.id}`, { security_group: { stateful: false } }, P1), 409, 'SecurityGroupInUse');
    expect(await dump()).toBe(before);
    const flip = await h.req('PUT', `/v2.0/security-groups/${sl.body.security_group.id}`, { security_group: { stateful: true } }, P1);
    expect(flip.status).toBe(200);
    expect(flip.body.security_group.stateful).toBe(true);
    // Rule keys: internal, unique, released with the rule.
    const a = await h.req('POST', '/v2.0/security-group-rules', rule(g.id, { protocol: 'tcp', port_range_min: 22 }), P1);
    const b = await h.req('POST', '/v2.0/security-group-rules', rule(g.id, { protocol: 'tcp', port_range_min: 23 }), P1);
    expect(a.body.security_group_rule.key).toBeUndefined();
    const ka = ((await h.store.get(resourceKey('security-group-rules', a.body.security_group_rule.id))) as { value: string }).value;
    const kb = ((await h.store.get(resourceKey('security-group-rules', b.body.security_group_rule.id))) as { value: string }).value;
    const keyA = (JSON.parse(ka) as SecurityGroupRuleRecord).key;
    const keyB = (JSON.parse(kb) as SecurityGroupRuleRecord).key;
    expect(keyA).toBeGreaterThan(0);
    expect(keyB).not.toBe(keyA);
    expect(await h.store.get(`/ipam/security-group-rule-key/${keyA}`)).toBeDefined();
    expect((await h.req('DELETE', `/v2.0/security-group-rules/${a.body.security_group_rule.id}`, undefined, P1)).status).toBe(204);
    expect(await h.store.get(`/ipam/security-group-rule-key/${keyA}`)).toBeUndefined();
  });
});
