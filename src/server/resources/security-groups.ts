/**
 * security-groups: groups with embedded rules (`security_group_rules`, derived), a `default`
 * group per project created lazily (first list, first group create, first port without
 * explicit groups) with Neutron's default rules, and the hooks the ports plugin calls
 * (`ensureDefaultSecurityGroup`, `validateSecurityGroups`). `/ipam/default-security-group/<project>`
 * (createRevision 0) makes the default group unique even when racing.
 */
import { randomUUID } from 'node:crypto';
import {
  defaultSecurityGroupKey,
  PORTS_PREFIX,
  resourceKey,
  MAX_SECURITY_GROUP_KEY,
  SECURITY_GROUP_KEY_PREFIX,
  SECURITY_GROUP_RULES_PREFIX,
  SECURITY_GROUPS_PREFIX,
  securityGroupGuardKey,
  securityGroupKeyKey,
} from '../../model/keys.js';
import type { PortRecord, SecurityGroupRecord, SecurityGroupRuleRecord, StandardRecord } from '../../model/records.js';
import { bool, standardAttributes } from '../attributes.js';
import type { RequestContext } from '../context.js';
import { Conflict, RetryLimitExceeded } from '../errors.js';
import { allocateInteger } from '../ipam.js';
import { SecurityGroupCannotRemoveDefault, SecurityGroupInUse, SecurityGroupNotFound } from '../l3-errors.js';
import type { PluginFactory, ResourcePlugin, ServerEnv } from '../registry.js';
import { timestamp } from '../time.js';
import { runTx, type Tx } from '../tx.js';
import { deleteRule, loadSecurityGroup, putInternalRule, ruleView } from './security-group-rules.js';


/** Allocate the group's key and write its record and Neutron's egress rules (any, IPv4 and IPv6). */
async function writeGroup(tx: Tx, base: StandardRecord, isDefault: boolean, stateful = true): Promise<SecurityGroupRecord> {
  const key = await allocateInteger(tx, SECURITY_GROUP_KEY_PREFIX, [[1, MAX_SECURITY_GROUP_KEY]], base.id);
  if (key === undefined) throw new RetryLimitExceeded();
  const rec: SecurityGroupRecord = { ...base, stateful, key };
  for (const ethertype of ['IPv4', 'IPv6'] as const) {
    const common = { ethertype, protocol: null, port_range_min: null, port_range_max: null, remote_ip_prefix: null };
    await putInternalRule(tx, base.project_id, base.id, { ...common, direction: 'egress', remote_group_id: null });
    if (isDefault) await putInternalRule(tx, base.project_id, base.id, { ...common, direction: 'ingress', remote_group_id: base.id });
  }
  return rec;
}

/** The project's default group id, creating it (record, rules) through `tx` if missing. */
export async function ensureDefaultSecurityGroup(tx: Tx, projectId: string): Promise<string> {
  const idx = defaultSecurityGroupKey(projectId);
  const held = await tx.get(idx);
  if (held) {
    tx.put(securityGroupGuardKey(held.value), 'ref');
    return held.value;
  }
  const now = timestamp();
  const base: StandardRecord = {
    id: randomUUID(),
    name: 'default',
    description: 'Default security group',
    project_id: projectId,
    tags: [],
    created_at: now,
    updated_at: now,
    revision_number: 0,
  };
  const rec = await writeGroup(tx, base, true);
  const key = resourceKey('security-groups', rec.id);
  tx.absent(key);
  tx.putJson(key, rec);
  tx.put(idx, rec.id);
  tx.put(securityGroupGuardKey(rec.id), 'ref');
  return rec.id;
}

/** Make sure `projectId` has its default group (own transaction; no write when it exists). */
async function ensureDefaultNow(env: ServerEnv, projectId: string): Promise<void> {
  if (projectId === '' || (await env.store.get(defaultSecurityGroupKey(projectId)))) return;
  await runTx(env.store, (tx) => ensureDefaultSecurityGroup(tx, projectId));
}

async function isDefaultGroup(tx: Tx, g: SecurityGroupRecord): Promise<boolean> {
  const held = await tx.get(defaultSecurityGroupKey(g.project_id));
  return held?.value === g.id;
}

export const securityGroupsPlugin: PluginFactory = (env) => {
  const plugin: ResourcePlugin<SecurityGroupRecord> = {
    collection: 'security-groups',
    // A new group's egress rules count against the project's rule quota (as in Neutron).
    quotaAlso: ['security-group-rules'],
    bodyCollection: 'security_groups',
    member: 'security_group',
    prefix: SECURITY_GROUPS_PREFIX,
    taggable: true,
    internalFields: ['key'],
    attributes: {
      ...standardAttributes(),
      security_group_rules: { allowPost: false, allowPut: false },
      stateful: { allowPost: true, allowPut: true, default: true, convert: bool },
    },
    extensions: [
      { alias: 'security-group', name: 'security-group', description: 'The security groups extension.' },
      { alias: 'stateful-security-group', name: 'Stateful security group', description: 'Indicates if the security group is stateful or not' },
    ],
    notFound: (id) => new SecurityGroupNotFound(id),

    async beforeList(ctx: RequestContext, params: URLSearchParams) {
      await ensureDefaultNow(env, ctx.projectId);
      if (ctx.isAdmin) for (const p of new Set([...params.getAll('project_id'), ...params.getAll('tenant_id')])) await ensureDefaultNow(env, p);
    },

    async derive(tx, records) {
      const rules = records.length === 0 ? [] : await tx.rangeJson<SecurityGroupRuleRecord>(SECURITY_GROUP_RULES_PREFIX);
      const byGroup = new Map<string, Record<string, unknown>[]>();
      for (const r of rules) byGroup.set(r.security_group_id, [...(byGroup.get(r.security_group_id) ?? []), ruleView(r)]);
      return (g) => ({ security_group_rules: byGroup.get(g.id) ?? [] });
    },

    async create(tx, _ctx, input, base): Promise<SecurityGroupRecord> {
      const def = await ensureDefaultSecurityGroup(tx, base.project_id);
      void def;
      if (input.name === 'default') throw new Conflict('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
      return writeGroup(tx, base, false, input.stateful !== false);
    },

    async update(tx, _ctx, current, changes): Promise<SecurityGroupRecord> {
      if (changes.name !== undefined && changes.name !== current.name && (current.name === 'default' || changes.name === 'default') && (await isDefaultGroup(tx, current) || changes.name === 'default')) {
        throw new Conflict('SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
      }
      const next: Record<string, unknown> = { ...current };
      for (const k of ['name', 'description']) if (changes[k] !== undefined) next[k] = changes[k];
      if (changes.stateful !== undefined && changes.stateful !== current.stateful) {
        // Neutron refuses to flip a group in use (its ports' connection tracking would change under them).
        await tx.get(securityGroupGuardKey(current.id));
        const ports = await tx.rangeJson<PortRecord>(PORTS_PREFIX);
        if (ports.some((p) => p.security_groups.includes(current.id))) throw new SecurityGroupInUse(current.id);
        next.stateful = changes.stateful;
      }
      return next as unknown as SecurityGroupRecord;
    },

    async delete(tx, ctx, g): Promise<void> {
      const isDefault = await isDefaultGroup(tx, g);
      if (isDefault && !ctx.isAdmin) throw new SecurityGroupCannotRemoveDefault();
      // Guard: a port or rule starting to use the group after these reads fails our commit.
      await tx.get(securityGroupGuardKey(g.id));
      const ports = await tx.rangeJson<PortRecord>(PORTS_PREFIX);
      if (ports.some((p) => p.security_groups.includes(g.id))) throw new SecurityGroupInUse(g.id);
      for (const r of await tx.rangeJson<SecurityGroupRuleRecord>(SECURITY_GROUP_RULES_PREFIX)) {
        if (r.security_group_id === g.id || r.remote_group_id === g.id) {
          deleteRule(tx, r);
          if (r.security_group_id !== g.id) tx.put(securityGroupGuardKey(r.security_group_id), `-${r.id}`);
        }
      }
      if (isDefault) tx.delete(defaultSecurityGroupKey(g.project_id));
      tx.delete(securityGroupKeyKey(g.key));
      tx.delete(securityGroupGuardKey(g.id));
    },
  };

  env.hooks.ensureDefaultSecurityGroup = (tx, projectId) => ensureDefaultSecurityGroup(tx, projectId);
  env.hooks.validateSecurityGroups = async (tx, ctx, ids) => {
    for (const id of ids) {
      await loadSecurityGroup(tx, ctx, id);
      tx.put(securityGroupGuardKey(id), 'ref');
    }
  };
  return plugin as unknown as ResourcePlugin<StandardRecord>;
};
