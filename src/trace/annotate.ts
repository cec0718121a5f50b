/**
 * Explains a parsed `ofproto/trace` in Wyvern's terms: stage names instead of table numbers, and
 * every flow's owner (from its cookie, see pipeline/conventions.ts) named from the north-bound
 * records, ending with a one-line path such as
 * `port vm1 → network blue → router r1 → network red → port vm2 (tunnel to 198.51.100.12)`.
 * Pure: no I/O (the CLI reads the store and runs ovs-appctl).
 */
import { decodeCookie, decodeGroupId, LOCALNET_PORT_KEY, type Owner } from '../pipeline/conventions.js';
import { stageOfTable } from '../pipeline/stages.js';
import { PRIO_ACL_BLOCK_EST, PRIO_ACL_BLOCKED_REPLY, PRIO_ACL_DROP, PRIO_ACL_INVALID, PRIO_ACL_REPLY } from '../pipeline/compile/acl.js';

const ACL_RULES = new Set(['acl_egress_rules', 'acl_ingress_rules']);
const ACL_STATE = new Set(['acl_egress_state', 'acl_ingress_state']);

/** What a security group flow says about the packet, as a hop of the path (undefined: nothing). */
function aclHop(names: TraceNames, stageName: string | undefined, step: TraceStep, owner: Owner | undefined): string | undefined {
  if (stageName === undefined || step.noMatch) return undefined;
  if (ACL_RULES.has(stageName) && owner?.kind === 'sg_rule') return `allowed by ${ruleLabel(names, owner.key)}`;
  if (ACL_STATE.has(stageName) && step.priority === PRIO_ACL_REPLY) return 'reply of an allowed connection';
  return undefined;
}

/** Why a security group flow dropped the packet (undefined: not a security group drop). */
function aclDrop(names: TraceNames, stageName: string | undefined, step: TraceStep, owner: Owner | undefined): string | undefined {
  if (stageName === undefined) return undefined;
  if (ACL_STATE.has(stageName) && step.priority === PRIO_ACL_INVALID) return 'dropped: invalid connection state';
  if (ACL_STATE.has(stageName) && step.priority === PRIO_ACL_BLOCKED_REPLY) return 'dropped: its connection is no longer allowed by any rule';
  if (ACL_RULES.has(stageName) && owner?.kind === 'port' && (step.priority === PRIO_ACL_DROP || step.priority === PRIO_ACL_BLOCK_EST)) {
    return `dropped by ${portGroupsLabel(names, owner.key)} of ${portLabel(names, owner.key)} (no rule matched)`;
  }
  if (ACL_RULES.has(stageName) && step.noMatch) return 'dropped by security groups (no rule matched)';
  return undefined;
}
import type { ParsedTrace, TraceAction, TraceStep } from './parse.js';

export interface NamedObject {
  readonly id: string;
  readonly name: string;
  readonly key: number;
}
export interface NamedPort extends NamedObject {
  readonly network_id?: string;
  readonly device_owner?: string;
  readonly device_id?: string;
  readonly security_groups?: readonly string[];
  readonly fixed_ips?: readonly { readonly ip_address: string }[];
}
export interface NamedRule {
  readonly id: string;
  readonly key: number;
  readonly security_group_id: string;
  readonly direction?: string;
  readonly ethertype?: string;
  readonly protocol?: string | null;
  readonly port_range_min?: number | null;
  readonly port_range_max?: number | null;
  readonly remote_ip_prefix?: string | null;
  readonly remote_group_id?: string | null;
}

/** Names of the keyed objects, from the store's `/nb/networks|ports|routers/` records. */
export interface TraceNames {
  readonly networks: ReadonlyMap<number, NamedObject>;
  readonly ports: ReadonlyMap<number, NamedPort>;
  readonly routers: ReadonlyMap<number, NamedObject>;
  readonly routersById: ReadonlyMap<string, NamedObject>;
  readonly securityGroups?: ReadonlyMap<number, NamedObject>;
  readonly securityGroupsById?: ReadonlyMap<string, NamedObject>;
  readonly rules?: ReadonlyMap<number, NamedRule>;
}

export const NO_NAMES: TraceNames = { networks: new Map(), ports: new Map(), routers: new Map(), routersById: new Map() };

export function namesFromRecords(records: {
  readonly networks?: readonly NamedObject[];
  readonly ports?: readonly NamedPort[];
  readonly routers?: readonly NamedObject[];
  readonly securityGroups?: readonly NamedObject[];
  readonly rules?: readonly NamedRule[];
}): TraceNames {
  const byKey = <T extends { readonly key: number }>(xs: readonly T[] | undefined): Map<number, T> =>
    new Map((xs ?? []).filter((x) => typeof x.key === 'number').map((x) => [x.key, x]));
  return {
    networks: byKey(records.networks),
    ports: byKey(records.ports),
    routers: byKey(records.routers),
    routersById: new Map((records.routers ?? []).map((r) => [r.id, r])),
    securityGroups: byKey(records.securityGroups),
    securityGroupsById: new Map((records.securityGroups ?? []).map((g) => [g.id, g])),
    rules: byKey(records.rules),
  };
}

/** `security group web`, `security group 1f0c9a2e` (no name), `security group #3` (unknown). */
export function groupLabel(names: TraceNames, key: number): string {
  const g = names.securityGroups?.get(key);
  return g ? `security group ${g.name || shortId(g.id)}` : `security group #${key}`;
}

function groupLabelById(names: TraceNames, id: string): string {
  const g = names.securityGroupsById?.get(id);
  return g ? `security group ${g.name || shortId(g.id)}` : `security group ${shortId(id)}`;
}

/** What a rule says, the way `openstack security group rule list` shows it. */
export function ruleText(r: NamedRule): string {
  const parts = [r.direction ?? '?', r.ethertype ?? ''];
  parts.push(r.protocol ?? 'any');
  if (r.port_range_min != null || r.port_range_max != null) {
    const icmp = r.protocol === 'icmp' || r.protocol === 'icmpv6' || r.protocol === 'ipv6-icmp' || r.protocol === '1' || r.protocol === '58';
    parts.push(icmp ? `type ${r.port_range_min ?? 'any'} code ${r.port_range_max ?? 'any'}` : `${r.port_range_min}-${r.port_range_max}`);
  }
  if (r.remote_ip_prefix) parts.push(`from/to ${r.remote_ip_prefix}`);
  return parts.filter((p) => p !== '').join(' ');
}

/** `security group web rule 4c1d2e3f (ingress IPv4 tcp 22-22)`, or `rule #9`. */
export function ruleLabel(names: TraceNames, key: number): string {
  const r = names.rules?.get(key);
  if (!r) return `security group rule #${key}`;
  const remote = r.remote_group_id ? ` with ${groupLabelById(names, r.remote_group_id)}` : '';
  return `${groupLabelById(names, r.security_group_id)} rule ${shortId(r.id)} (${ruleText(r)}${remote})`;
}

/** The groups of a port, e.g. `security groups default, web`. */
export function portGroupsLabel(names: TraceNames, portKey: number): string {
  const ids = names.ports.get(portKey)?.security_groups ?? [];
  if (ids.length === 0) return 'no security group';
  const labels = ids.map((id) => groupLabelById(names, id).replace(/^security group /, ''));
  return `security group${ids.length > 1 ? 's' : ''} ${labels.join(', ')}`;
}

const shortId = (id: string): string => id.slice(0, 8);

/** `port vm1`, `port 4415075f` (no name), `router r1 interface`, `port #7` (unknown key). */
export function portLabel(names: TraceNames, key: number, withId = false): string {
  const p = names.ports.get(key);
  if (!p) return `port #${key}`;
  const router = p.device_id ? names.routersById.get(p.device_id) : undefined;
  if (!p.name && router && p.device_owner?.startsWith('network:router')) {
    return `router ${router.name || shortId(router.id)} interface${withId ? ` (${shortId(p.id)})` : ''}`;
  }
  const base = `port ${p.name || shortId(p.id)}`;
  return withId && p.name ? `${base} (${shortId(p.id)})` : base;
}
export function networkLabel(names: TraceNames, key: number): string {
  const n = names.networks.get(key);
  return n ? `network ${n.name || shortId(n.id)}` : `network #${key}`;
}
export function routerLabel(names: TraceNames, key: number): string {
  const r = names.routers.get(key);
  return r ? `router ${r.name || shortId(r.id)}` : `router #${key}`;
}

export function ownerLabel(names: TraceNames, owner: Owner | undefined, withId = false): string {
  if (!owner) return 'foreign flow';
  switch (owner.kind) {
    case 'pipeline':
      return 'pipeline';
    case 'network':
      return networkLabel(names, owner.key);
    case 'port':
      return portLabel(names, owner.key, withId);
    case 'router':
      return routerLabel(names, owner.key);
    case 'reactive':
      return `reactive flow to ${portLabel(names, owner.key, withId)}`;
    case 'chassis':
      return `chassis #${owner.key}`;
    case 'sg_member':
      return `remote group member ${portLabel(names, owner.key, withId)}`;
    case 'sg_rule':
      return ruleLabel(names, owner.key);
    case 'floatingip': {
      const p = names.ports.get(owner.key);
      const ip = p?.fixed_ips?.[0]?.ip_address;
      return ip ? `floating IP ${ip}` : `floating IP #${owner.key}`;
    }
  }
}

/**
 * The pipeline's stage names in table order, when a trace was taken with another layout than the
 * running code's (a captured fixture: stages added since renumber the tables). Default: the
 * registry (`stages.ts`).
 */
export type StageLayout = readonly string[];

function stageNameOf(table: number, layout?: StageLayout): string | undefined {
  return layout ? layout[table] : stageOfTable(table)?.name;
}

export function stageLabel(table: number, layout?: StageLayout): string {
  return stageNameOf(table, layout) ?? `table ${table}`;
}

function num(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.split('/')[0];
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(v)) return undefined;
  return Number(v);
}

/** A short explanation of one action, or undefined when the action speaks for itself. */
export function explainAction(names: TraceNames, a: TraceAction, layout?: StageLayout): string | undefined {
  if (a.kind === 'set_field') {
    const n = num(a.value);
    if (n === undefined) return undefined;
    if (a.field === 'metadata') return networkLabel(names, n);
    if (a.field === 'reg14') return `input ${portLabel(names, n, true)}`;
    if (a.field === 'reg15' && n === LOCALNET_PORT_KEY) return 'output to the physical network';
    if (a.field === 'reg15' || a.field === 'tun_metadata0') return n === 0 ? 'flood' : `output ${portLabel(names, n, true)}`;
    if (a.field === 'reg13') return routerLabel(names, n);
    return undefined;
  }
  if (a.kind === 'goto_table') return stageLabel(Number(a.value), layout);
  if (a.kind === 'resubmit') {
    const t = num(a.value?.split(',')[1]);
    return t === undefined ? undefined : stageLabel(t, layout);
  }
  if (a.kind === 'group') {
    const g = decodeGroupId(Number(a.value));
    if (g.kind === 'flood') return `flood in ${networkLabel(names, g.key)}`;
    if (g.kind === 'local_flood') return `flood to local ports of ${networkLabel(names, g.key)}`;
  }
  return undefined;
}

/** One table visited, named (the structured form of a block of `lines`, for `--json`). */
export interface ExplainedStep {
  readonly table: number;
  /** Pipeline stage name, or `table N` for a table the pipeline does not declare. */
  readonly stage: string;
  /** Nesting level: 0 at the top, deeper inside resubmits and group buckets. */
  readonly depth: number;
  /** Group bucket the step runs in, if any. */
  readonly bucket?: number;
  /** Owner of the flow that matched (from its cookie), named; absent when no flow matched. */
  readonly owner?: { readonly kind: string; readonly key: number; readonly label: string };
  readonly match: string;
  readonly priority?: number;
  readonly noMatch: boolean;
  readonly actions: readonly { readonly text: string; readonly explanation?: string }[];
  /** What a security group flow decided here (`allowed by security group web rule …`). */
  readonly verdict?: string;
}

/**
 * A copy of the packet sent into a tunnel: what the receiving chassis needs to continue the
 * trace (tunnel_in matches in_port = its tunnel port, tun_id and, for Geneve, tun_metadata0).
 */
export interface TunnelExit {
  /** `tun_dst`: the receiving chassis' tunnel IP. */
  readonly remoteIp: string;
  /** `tun_id` as set (Geneve: the network key; VXLAN: the port key, or 2^23 + network key to flood). */
  readonly tunId: string;
  /** `tun_metadata0` as set (Geneve only: the destination port key, 0 = flood). */
  readonly tunMetadata0?: string;
  /** Logical output port (reg15; 0 = flood) and network (metadata) when the packet left. */
  readonly portKey: number;
  readonly networkKey?: number;
  /** This exit as it reads in `destinations` (`port vm2 (tunnel to 198.51.100.12)`), and its index there. */
  readonly destination: string;
  readonly destinationIndex: number;
}

export interface Explanation {
  /** Human-readable lines, one block per table visited. */
  readonly lines: readonly string[];
  /** The tables visited, named. */
  readonly steps: readonly ExplainedStep[];
  /** Copies sent into tunnels, in trace order. */
  readonly exits: readonly TunnelExit[];
  /** `port vm1 → network blue → ... → port vm2 (tunnel to 198.51.100.12)` or `... → drop in port_sec_in (...)`. */
  readonly summary: string;
  /** The last element of the summary: the destination(s), or where and why the packet was dropped. */
  readonly end: string;
  /** The hops of the summary before the destination(s). */
  readonly hops: readonly string[];
  /** Where the packet ends: ports, tunnels, controller; empty when dropped. */
  readonly destinations: readonly string[];
  readonly dropped: boolean;
  readonly datapathActions?: string;
}

interface RegState {
  reg15: number;
  network?: number;
  tunDst?: string;
  tunId?: string;
  tunMetadata0?: string;
}

export function explainTrace(trace: ParsedTrace, names: TraceNames = NO_NAMES, layout?: StageLayout): Explanation {
  const lines: string[] = [];
  const hops: string[] = [];
  const destinations: string[] = [];
  const steps: ExplainedStep[] = [];
  const exits: TunnelExit[] = [];
  const push = (h: string): void => {
    if (hops[hops.length - 1] !== h) hops.push(h);
  };
  lines.push(`packet: ${trace.flow}`);
  let state: RegState = { reg15: 0 };
  let groupSnapshot: RegState | undefined;
  const tunSrc = /(?:^|,)tun_src=([0-9.]+)/.exec(trace.flow)?.[1];
  let last: TraceStep | undefined;
  const doActions = (actions: readonly TraceAction[], indent: string, explained?: { text: string; explanation?: string }[]): Map<string, number> => {
    const sets = new Map<string, number>();
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i];
      const why = explainAction(names, a, layout);
      lines.push(`${indent}    ${a.text}${why ? `  (${why})` : ''}`);
      explained?.push(why ? { text: a.text, explanation: why } : { text: a.text });
      if (a.kind === 'set_field' && a.field) {
        const n = num(a.value);
        if (a.field === 'tun_dst') state.tunDst = a.value;
        else if (a.field === 'tun_id') state.tunId = a.value;
        else if (a.field === 'tun_metadata0') state.tunMetadata0 = a.value;
        if (a.field !== 'tun_dst' && n !== undefined) {
          sets.set(a.field, n);
          if (a.field === 'reg15') state.reg15 = n;
          if (a.field === 'metadata') state.network = n;
        }
      } else if (a.kind === 'group') {
        groupSnapshot = { ...state };
      } else if (a.kind === 'controller' || (a.kind === 'output' && /^controller\b/i.test(a.value ?? ''))) {
        destinations.push('controller');
      } else if (a.kind === 'output') {
        const skipped = actions[i + 1]?.kind === 'note' && /skipping output to input port/.test(actions[i + 1].text);
        let dest: string;
        if (state.tunDst !== undefined) {
          dest = state.reg15 ? `${portLabel(names, state.reg15)} (tunnel to ${state.tunDst})` : `tunnel to ${state.tunDst} (flood)`;
          if (!skipped) {
            exits.push({
              remoteIp: state.tunDst,
              tunId: state.tunId ?? '0',
              ...(state.tunMetadata0 !== undefined ? { tunMetadata0: state.tunMetadata0 } : {}),
              portKey: state.reg15,
              ...(state.network !== undefined ? { networkKey: state.network } : {}),
              destination: dest,
              destinationIndex: destinations.length,
            });
          }
        } else {
          if (state.reg15 === LOCALNET_PORT_KEY) dest = `physical network${state.network !== undefined ? ` of ${networkLabel(names, state.network)}` : ''}`;
          else dest = state.reg15 ? portLabel(names, state.reg15) : `ofport ${a.value}`;
        }
        destinations.push(skipped ? `${dest} (skipped: input port)` : dest);
      }
    }
    return sets;
  };
  for (const ev of trace.events) {
    if (ev.type === 'bucket') {
      if (groupSnapshot) state = { ...groupSnapshot };
      lines.push(`${'  '.repeat(ev.depth)}  bucket ${ev.bucket}:`);
      doActions(ev.actions, '  '.repeat(ev.depth));
      continue;
    }
    const step = ev.step;
    last = step;
    const indent = '  '.repeat(step.depth);
    const owner = step.cookie === undefined ? undefined : decodeCookie(step.cookie);
    const head = step.noMatch
      ? `${indent}[${step.table}] ${stageLabel(step.table, layout)}: no flow matched`
      : `${indent}[${step.table}] ${stageLabel(step.table, layout)}: ${ownerLabel(names, owner, true)} — ${step.match || '(any)'}, priority ${step.priority}`;
    lines.push(head);
    if (stageNameOf(step.table, layout) === 'tunnel_in' && hops.length === 0) push(`tunnel${tunSrc && tunSrc !== '0.0.0.0' ? ` from ${tunSrc}` : ''}`);
    const explained: { text: string; explanation?: string }[] = [];
    const sets = doActions(step.actions, indent, explained);
    const acl = aclHop(names, stageNameOf(step.table, layout), step, owner);
    if (acl) {
      lines.push(`${indent}    → ${acl}`);
      push(acl);
    }
    steps.push({
      table: step.table,
      stage: stageLabel(step.table, layout),
      depth: step.depth,
      ...(step.bucket !== undefined ? { bucket: step.bucket } : {}),
      ...(step.noMatch ? {} : { owner: owner ? { kind: owner.kind, key: owner.key, label: ownerLabel(names, owner, true) } : { kind: 'foreign', key: 0, label: 'foreign flow' } }),
      match: step.match,
      ...(step.priority !== undefined ? { priority: step.priority } : {}),
      noMatch: step.noMatch,
      actions: explained,
      ...(acl ? { verdict: acl } : {}),
    });
    // Ingress port first, then its network, then the router: reads in the packet's order.
    const inport = sets.get('reg14');
    if (inport) push(portLabel(names, inport));
    const net = sets.get('metadata');
    if (net !== undefined) push(networkLabel(names, net));
    const router = sets.get('reg13');
    if (router) push(routerLabel(names, router));
  }
  const delivered = destinations.filter((d) => !d.endsWith('(skipped: input port)'));
  const dropped = trace.datapathActions === 'drop' || delivered.length === 0;
  let end: string;
  if (dropped && delivered.length === 0) {
    const where = last ? stageLabel(last.table, layout) : 'the first table';
    const lastOwner = last?.cookie === undefined ? undefined : decodeCookie(last.cookie);
    const acl = last ? aclDrop(names, stageNameOf(last.table, layout), last, lastOwner) : undefined;
    const why = !last || last.noMatch ? 'no flow' : last.priority === 0 ? 'miss flow' : ownerLabel(names, lastOwner);
    end = acl ?? `drop in ${where} (${why})`;
  } else if (destinations.length === 1) {
    end = destinations[0];
  } else {
    end = `{ ${destinations.join(', ')} }`;
  }
  const summary = [...hops, end].join(' → ');
  lines.push('');
  lines.push(`path: ${summary}`);
  if (trace.datapathActions !== undefined) lines.push(`datapath actions: ${trace.datapathActions}`);
  return { lines, steps, exits, summary, end, hops, destinations, dropped, datapathActions: trace.datapathActions };
}
