/**
 * security-group-rules: Neutron's validation (protocol names and numbers, port ranges only for
 * port-based protocols, ICMP type/code, remote_ip_prefix vs remote_group_id, ethertype vs the
 * prefix's family); one rule per distinct match, enforced by an index key
 * (`/ipam/security-group-rule/<group>/<digest>`, createRevision 0) so duplicates → 409 even
 * when racing.
 */
import { createHash, randomUUID } from 'node:crypto';
import { formatCidr, parseCidr } from '../../model/ip-address.js';
import {
  MAX_SECURITY_GROUP_RULE_KEY,
  resourceKey,
  SECURITY_GROUP_RULE_KEY_PREFIX,
  SECURITY_GROUP_RULES_PREFIX,
  securityGroupGuardKey,
  securityGroupRuleKeyKey,
  securityGroupRuleUniqueKey,
} from '../../model/keys.js';
import type { SecurityGroupRecord, SecurityGroupRuleRecord, StandardRecord } from '../../model/records.js';
import { invalidAttribute, RetryLimitExceeded } from '../errors.js';
import { allocateInteger } from '../ipam.js';
import { nullable, oneOf, standardAttributes, str, uuid, type AttributeMap, type Converter } from '../attributes.js';
import type { RequestContext } from '../context.js';
import { SecurityGroupNotFound, SecurityGroupRuleExists, SecurityGroupRuleInvalid, SecurityGroupRuleNotFound } from '../l3-errors.js';
import type { PluginFactory, ResourcePlugin } from '../registry.js';
import { timestamp } from '../time.js';
import type { Tx } from '../tx.js';

/** IANA numbers of the protocol names Neutron accepts. */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  ah: 51, dccp: 33, egp: 8, esp: 50, gre: 47, hopopt: 0, icmp: 1, icmpv6: 58, igmp: 2, ipip: 4, 'ipv6-encap': 41, 'ipv6-frag': 44,
  'ipv6-icmp': 58, 'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, ospf: 89, pgm: 113, rsvp: 46, sctp: 132, tcp: 6, udp: 17, udplite: 136, vrrp: 112,
};
/** Protocols whose rules may carry a port range. */
const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]);
const ICMP_PROTOCOLS = new Set([1, 58]);

/** Protocol: a name (any case), `any`, or an integer 0-255 (number or text). */
const protocolConverter: Converter = (v, attr) => {
  if (v === null) return null;
  if (typeof v === 'number' || (typeof v === 'string' && /^[0-9]+$/.test(v))) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 255) throw invalidProtocol(v);
    return String(n);
  }
  if (typeof v !== 'string') throw invalidAttribute(attr, `'${JSON.stringify(v)}' is not a valid protocol`);
  const l = v.toLowerCase();
  if (l === 'any') return null;
  if (!(l in PROTOCOL_NUMBERS)) throw invalidProtocol(v);
  return l;
};

function invalidProtocol(v: unknown): SecurityGroupRuleInvalid {
  return new SecurityGroupRuleInvalid(
    'SecurityGroupRuleInvalidProtocol',
    `Security group rule protocol ${String(v)} not supported. Only protocol values [${Object.keys(PROTOCOL_NUMBERS).join(', ')}, any] and integer representations [0 to 255] are supported.`,
  );
}

const prefixConverter: Converter = (v, attr) => {
  if (v === null) return null;
  const c = parseCidr(typeof v === 'string' && !v.includes('/') ? `${v}/${v.includes(':') ? 128 : 32}` : v);
  if (!c) throw invalidAttribute(attr, `'${String(v)}' is not a valid IP subnet`);
  return formatCidr(c);
};

export interface RuleInput {
  readonly direction: 'ingress' | 'egress';
  readonly ethertype: 'IPv4' | 'IPv6';
  readonly protocol: string | null;
  readonly port_range_min: number | null;
  readonly port_range_max: number | null;
  readonly remote_ip_prefix: string | null;
  readonly remote_group_id: string | null;
}

/** A port bound: an integer 0-65535, else Neutron's SecurityGroupInvalidPortValue (convert_validate_port_value). */
const portValue: Converter = (v) => {
  const n = typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new SecurityGroupRuleInvalid('SecurityGroupInvalidPortValue', `Invalid value for port ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return n;
};

/** Validate and normalise a rule (Neutron's _validate_*); returns fields plus protocol number. */
export function checkRule(r: RuleInput): RuleInput & { protocol_number: number | null } {
  const num = r.protocol === null ? null : /^[0-9]+$/.test(r.protocol) ? Number(r.protocol) : PROTOCOL_NUMBERS[r.protocol];
  const min = r.port_range_min;
  let max = r.port_range_max;
  if (r.remote_ip_prefix !== null && r.remote_group_id !== null) {
    throw new SecurityGroupRuleInvalid('SecurityGroupRemoteGroupAndRemoteIpPrefix', 'Only remote_ip_prefix or remote_group_id may be provided.');
  }
  if (r.remote_ip_prefix !== null) {
    const fam = parseCidr(r.remote_ip_prefix)!.version === 4 ? 'IPv4' : 'IPv6';
    if (fam !== r.ethertype) throw new SecurityGroupRuleInvalid('SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${r.ethertype} for CIDR ${r.remote_ip_prefix}`);
  }
  if ((r.protocol === 'icmpv6' || r.protocol === 'ipv6-icmp') && r.ethertype === 'IPv4') {
    throw new SecurityGroupRuleInvalid('SecurityGroupEthertypeConflictWithProtocol', `Invalid ethertype ${r.ethertype} for protocol ${r.protocol}.`);
  }
  // Legacy `icmp` on an IPv6 rule means ICMPv6.
  const effective = num === 1 && r.ethertype === 'IPv6' ? 58 : num;
  if (min !== null || max !== null) {
    if (effective === null) throw new SecurityGroupRuleInvalid('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
    if (PORT_PROTOCOLS.has(effective)) {
      // A minimum alone is one port; a maximum alone is not a range (Neutron's message).
      if (min !== null && max === null) max = min;
      if (min === null) throw new SecurityGroupRuleInvalid('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
      for (const p of [min!, max!]) {
        if (p === 0) throw new SecurityGroupRuleInvalid('SecurityGroupInvalidPortValue', `Invalid value for port ${p}`);
      }
      if (min! > max!) throw new SecurityGroupRuleInvalid('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
    } else if (ICMP_PROTOCOLS.has(effective)) {
      if (min === null && max !== null) {
        throw new SecurityGroupRuleInvalid('SecurityGroupMissingIcmpType', `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
      }
      for (const [field, attr, value] of [['type', 'port_range_min', min], ['code', 'port_range_max', max]] as const) {
        if (value !== null && value > 255) throw new SecurityGroupRuleInvalid('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP ${field} (${attr}) ${value}. It must be 0 to 255.`);
      }
    } else {
      throw new SecurityGroupRuleInvalid('SecurityGroupInvalidProtocolForPortRange', `Invalid protocol ${r.protocol} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.`);
    }
  }
  return { ...r, port_range_min: min, port_range_max: max, protocol_number: effective };
}

/** What makes two rules of one group the same rule (names vs numbers, /0 vs any, are equal). */
function digest(r: RuleInput & { protocol_number: number | null }): string {
  const prefix = r.remote_ip_prefix !== null && r.remote_ip_prefix.endsWith('/0') ? null : r.remote_ip_prefix;
  const text = JSON.stringify([r.direction, r.ethertype, r.protocol_number, r.port_range_min, r.port_range_max, prefix, r.remote_group_id]);
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** Read a security group for use by ctx (guarded); SecurityGroupNotFound if not visible. */
/** A rule added or removed through the rules API changes its group (Neutron bumps the parent's revision). */
function touchGroup(tx: Tx, g: SecurityGroupRecord): void {
  tx.putJson(resourceKey('security-groups', g.id), { ...g, revision_number: g.revision_number + 1, updated_at: timestamp() });
}

export async function loadSecurityGroup(tx: Tx, ctx: RequestContext, id: string): Promise<SecurityGroupRecord> {
  const got = await tx.getJson<SecurityGroupRecord>(resourceKey('security-groups', id));
  if (!got || (!ctx.isAdmin && got.value.project_id !== ctx.projectId)) throw new SecurityGroupNotFound(id);
  return got.value;
}

/**
 * Write a new rule (record, uniqueness key, guards) in `tx`; SecurityGroupRuleExists if the
 * group already has the same rule. The referenced groups must have been checked by the caller.
 */
export async function putRule(tx: Tx, base: StandardRecord, groupId: string, input: RuleInput): Promise<SecurityGroupRuleRecord> {
  const r = checkRule(input);
  const uniq = securityGroupRuleUniqueKey(groupId, digest(r));
  const held = await tx.get(uniq);
  if (held) throw new SecurityGroupRuleExists(held.value);
  tx.put(uniq, base.id);
  // The rule's small integer key: its conjunction id and cookie in the data plane.
  const key = await allocateInteger(tx, SECURITY_GROUP_RULE_KEY_PREFIX, [[1, MAX_SECURITY_GROUP_RULE_KEY]], base.id);
  if (key === undefined) throw new RetryLimitExceeded();
  tx.put(securityGroupGuardKey(groupId), base.id);
  if (r.remote_group_id !== null) tx.put(securityGroupGuardKey(r.remote_group_id), base.id);
  const rec: SecurityGroupRuleRecord = {
    ...base,
    security_group_id: groupId,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    protocol_number: r.protocol_number,
    port_range_min: r.port_range_min,
    port_range_max: r.port_range_max,
    remote_ip_prefix: r.remote_ip_prefix,
    remote_group_id: r.remote_group_id,
    remote_address_group_id: null,
    key,
  };
  return rec;
}

/** Build and write a rule the server creates itself (default group, new groups' egress rules). */
export async function putInternalRule(tx: Tx, projectId: string, groupId: string, input: RuleInput): Promise<SecurityGroupRuleRecord> {
  const now = timestamp();
  const base: StandardRecord = { id: randomUUID(), name: '', description: '', project_id: projectId, tags: [], created_at: now, updated_at: now, revision_number: 0 };
  const rec = await putRule(tx, base, groupId, input);
  const key = resourceKey('security-group-rules', rec.id);
  tx.absent(key);
  tx.putJson(key, rec);
  return rec;
}

/** Remove a rule's record, uniqueness key and OpenFlow key. */
export function deleteRule(tx: Tx, r: SecurityGroupRuleRecord): void {
  releaseRuleKeys(tx, r);
  tx.delete(resourceKey('security-group-rules', r.id));
}

function releaseRuleKeys(tx: Tx, r: SecurityGroupRuleRecord): void {
  tx.delete(securityGroupRuleUniqueKey(r.security_group_id, digest(r)));
  tx.delete(securityGroupRuleKeyKey(r.key));
}

/** Fields hidden from the API view of a rule. */
export const RULE_INTERNAL_FIELDS: readonly string[] = ['name', 'tags', 'protocol_number', 'remote_address_group_id', 'key'];

/** The API view of a rule (as embedded in its group's `security_group_rules`). */
export function ruleView(r: SecurityGroupRuleRecord): Record<string, unknown> {
  const o: Record<string, unknown> = { ...r, tenant_id: r.project_id };
  for (const k of RULE_INTERNAL_FIELDS) delete o[k];
  return o;
}

export const securityGroupRulesPlugin: PluginFactory = () => {
  const std: AttributeMap = Object.fromEntries(Object.entries(standardAttributes()).filter(([k]) => k !== 'name' && k !== 'tags'));
  const plugin: ResourcePlugin<SecurityGroupRuleRecord> = {
    collection: 'security-group-rules',
    bodyCollection: 'security_group_rules',
    member: 'security_group_rule',
    prefix: SECURITY_GROUP_RULES_PREFIX,
    internalFields: RULE_INTERNAL_FIELDS,
    attributes: {
      ...std,
      description: { allowPost: true, allowPut: true, default: '', convert: std.description.convert },
      security_group_id: { allowPost: true, allowPut: false, required: true, convert: uuid },
      direction: { allowPost: true, allowPut: false, required: true, convert: oneOf(['ingress', 'egress']) },
      ethertype: { allowPost: true, allowPut: false, default: 'IPv4', convert: oneOf(['IPv4', 'IPv6']) },
      protocol: { allowPost: true, allowPut: false, default: null, convert: protocolConverter },
      port_range_min: { allowPost: true, allowPut: false, default: null, convert: nullable(portValue) },
      port_range_max: { allowPost: true, allowPut: false, default: null, convert: nullable(portValue) },
      remote_ip_prefix: { allowPost: true, allowPut: false, default: null, convert: prefixConverter },
      // Any string: a group that does not exist (even a malformed id) is 404, as in Neutron.
      remote_group_id: { allowPost: true, allowPut: false, default: null, convert: nullable(str(255)) },
    },
    notFound: (id) => new SecurityGroupRuleNotFound(id),
    // The owner of the group sees every rule in it (an admin may have added some).
    async canSee(ctx, r, tx) {
      if (r.project_id === ctx.projectId) return true;
      const g = await tx.peekJsonCached<SecurityGroupRecord>(resourceKey('security-groups', r.security_group_id));
      return g !== undefined && g.project_id === ctx.projectId;
    },

    async create(tx, ctx, input, base): Promise<SecurityGroupRuleRecord> {
      const group = await loadSecurityGroup(tx, ctx, input.security_group_id as string);
      if (input.remote_group_id !== null) await loadSecurityGroup(tx, ctx, input.remote_group_id as string);
      const rule = await putRule(tx, base, group.id, input as unknown as RuleInput);
      touchGroup(tx, group);
      return rule;
    },

    async update(_tx, _ctx, current, changes): Promise<SecurityGroupRuleRecord> {
      return { ...current, description: (changes.description as string | undefined) ?? current.description };
    },

    async delete(tx, _ctx, r): Promise<void> {
      releaseRuleKeys(tx, r);
      tx.put(securityGroupGuardKey(r.security_group_id), `-${r.id}`);
      const group = await tx.getJson<SecurityGroupRecord>(resourceKey('security-groups', r.security_group_id));
      // (Absent when the group's delete takes its rules with it.)
      if (group) touchGroup(tx, group.value);
    },
  };
  return plugin as unknown as ResourcePlugin<StandardRecord>;
};
