/**
 * The pipeline as data: every OpenFlow table of br-int is declared once here, in order. Table ids
 * are derived from the position in `STAGE_DECLS`; no other file writes a table number.
 *
 * Each stage declares the match fields its flows may use, the stages its flows may `goto_table`
 * or `resubmit` to, and what happens on a miss. `FlowBuilder` (flow-builder.ts) enforces the
 * declarations when a flow is built, so a pipeline mistake is a typed error at compile time of the
 * flows, not a mystery in the switch. Stage names say where they are and what they do.
 */
import type { FieldName } from '../openflow/types.js';

/** What a stage does with a packet no flow matched (compiled as the priority-0 flow). */
export type MissBehaviour =
  | { readonly kind: 'drop' }
  /** Pass-through stage: continue to the named stage. */
  | { readonly kind: 'goto'; readonly stage: string }
  /** Send to the controller (reserved for reactive L3). */
  | { readonly kind: 'controller' };

export interface StageDecl {
  readonly name: string;
  readonly description: string;
  readonly match: readonly FieldName[];
  /** Stages this stage's flows may goto_table / resubmit to (always later stages for goto). */
  readonly next: readonly string[];
  readonly miss: MissBehaviour;
  /** Group buckets may resubmit into this stage (e.g. flood buckets into acl_ingress). */
  readonly groupEntry?: boolean;
  /** Declared for a later issue; compilers may not emit flows into it yet except its miss flow. */
  readonly reserved?: boolean;
  /**
   * Earlier stages this stage's flows may `resubmit` to (a loop back: e.g. a packet routed to a
   * floating IP of this very chassis re-enters as if it came from the external network).
   */
  readonly loopback?: readonly string[];
}

const ETH: readonly FieldName[] = ['eth_src', 'eth_dst', 'eth_type'];
const IP4: readonly FieldName[] = ['ipv4_src', 'ipv4_dst', 'ip_proto', 'udp_src', 'udp_dst', 'tcp_src', 'tcp_dst'];
const ARP: readonly FieldName[] = ['arp_op', 'arp_spa', 'arp_tpa', 'arp_sha', 'arp_tha'];
const IP6: readonly FieldName[] = ['ipv6_src', 'ipv6_dst', 'icmpv6_type', 'icmpv6_code', 'nd_target'];

const LOGICAL: readonly FieldName[] = ['metadata', 'reg14', 'reg15'];

/**
 * The stages in table order. Keep `name` values unique; the `as const` makes `StageName` a union.
 * Adding a stage renumbers the later ones: nothing may depend on the numbers.
 */
export const STAGE_DECLS = [
  {
    name: 'classify',
    description: 'in_port → logical input port (reg14) and network (metadata); tunnel ports → tunnel_in; a physical network\'s patch port (+ VLAN) → its network, services',
    match: ['in_port', 'vlan_vid'],
    next: ['port_sec_in', 'tunnel_in', 'services'],
    miss: { kind: 'drop' },
  },
  {
    name: 'tunnel_in',
    description: 'from a tunnel: network + destination port key from the tunnel header, no second lookup; a router\'s gateway port → routed again on its gateway chassis',
    match: ['in_port', 'tunnel_id', 'tun_metadata0'],
    next: ['acl_ingress', 'l3_route'],
    miss: { kind: 'drop' },
  },
  {
    name: 'port_sec_in',
    description: 'port security: source MAC / IPv4 / IPv6 / ARP sender of a local VIF; rogue DHCP servers',
    match: [...LOGICAL, ...ETH, ...IP4, ...ARP, ...IP6],
    next: ['acl_egress'],
    miss: { kind: 'drop' },
  },
  // ---- security groups, from the VM (compile/acl.ts). reg12 = the port's conntrack zone. ----
  {
    name: 'acl_egress',
    description: 'security groups from the VM: IP of a filtered port → conntrack in its zone (stateful) or the rules (stateless); the rest passes',
    match: [...LOGICAL, 'eth_type', 'ip_proto', 'udp_src', 'udp_dst', 'icmpv6_type'],
    next: ['acl_egress_state', 'acl_egress_rules', 'services'],
    miss: { kind: 'goto', stage: 'services' },
  },
  {
    name: 'acl_egress_state',
    description: 'after conntrack: invalid → drop; replies and related of allowed connections → pass; blocked → drop; else the rules',
    match: [...LOGICAL, 'ct_state', 'ct_mark'],
    next: ['acl_egress_rules', 'services'],
    miss: { kind: 'goto', stage: 'acl_egress_rules' },
  },
  {
    name: 'acl_egress_rules',
    description: 'egress rules as conjunctions (port ∈ group, peer ∈ remote group, match); DHCP/ND always; no rule → drop (an established connection is marked blocked)',
    match: [...LOGICAL, ...ETH, ...IP4, ...IP6, 'sctp_src', 'sctp_dst', 'icmpv4_type', 'icmpv4_code', 'ct_state', 'conj_id'],
    next: ['acl_egress_commit', 'services'],
    miss: { kind: 'drop' },
  },
  {
    name: 'acl_egress_commit',
    description: 'an allowed new (or blocked) connection is committed in the port\'s zone, unblocked',
    match: [...LOGICAL, 'eth_type', 'ct_state', 'ct_mark'],
    next: ['services'],
    miss: { kind: 'goto', stage: 'services' },
  },
  {
    name: 'services',
    description: 'ARP responder for known addresses, DHCP punt to the controller',
    match: [...LOGICAL, ...ETH, ...IP4, ...ARP, ...IP6],
    next: ['l2_lookup'],
    miss: { kind: 'goto', stage: 'l2_lookup' },
  },
  {
    name: 'l2_lookup',
    description: 'destination MAC → reg15 (0 = flood); router interface MAC → reg13 = router key, l3_input; chassis MAC + floating IP → its router',
    match: ['metadata', 'reg14', 'eth_dst', 'eth_type', 'ipv4_dst'],
    next: ['egress_dispatch', 'l3_input'],
    miss: { kind: 'drop' },
  },
  // ---- L3: the distributed router (compile/l3.ts). reg13 = router key from here on. ----
  {
    name: 'l3_input',
    description: 'router ingress (reg13 = router): IPv4 only; TTL <= 1, echo to the router → controller; to l3_route',
    match: [...LOGICAL, 'reg13', ...ETH, ...IP4, 'nw_ttl', 'icmpv4_type', 'icmpv4_code'],
    next: ['l3_unsnat'],
    miss: { kind: 'drop' },
  },
  // ---- NAT from the outside (compile/nat.ts): OVN's unsnat then dnat, one zone each per router ----
  {
    name: 'l3_unsnat',
    description: 'to the gateway address or a floating IP: conntrack in the router\'s SNAT zone (replies of translated connections get their inside address back)',
    match: [...LOGICAL, 'reg13', 'eth_type', 'ipv4_dst'],
    next: ['l3_dnat'],
    miss: { kind: 'goto', stage: 'l3_dnat' },
  },
  {
    name: 'l3_dnat',
    description: 'to a floating IP: DNAT to the VM\'s fixed IP (committed in the router\'s DNAT zone); to the gateway address, untranslated → drop',
    match: [...LOGICAL, 'reg13', 'eth_type', 'ipv4_dst'],
    next: ['l3_route'],
    miss: { kind: 'goto', stage: 'l3_route' },
  },
  {
    name: 'l3_route',
    description: 'longest prefix match on ipv4_dst per router → reg0 = next hop IPv4; no route → controller; from the external network back to it → drop',
    match: [...LOGICAL, 'reg13', 'eth_type', 'ipv4_dst', 'ipv4_src'],
    next: ['l3_undnat'],
    miss: { kind: 'drop' },
  },
  // ---- NAT to the outside: un-DNAT replies of floating IP connections, then SNAT ----
  {
    name: 'l3_undnat',
    description: 'from a floating IP\'s VM to the external network: conntrack in the router\'s DNAT zone (replies of inbound connections leave from the floating IP)',
    match: [...LOGICAL, 'reg13', 'eth_type', 'reg0', 'ipv4_src'],
    next: ['l3_snat'],
    miss: { kind: 'goto', stage: 'l3_snat' },
  },
  {
    name: 'l3_snat',
    description: 'new connections to the external network: SNAT to the floating IP (its VM\'s chassis) or the gateway address (the gateway chassis), committed in the SNAT zone',
    match: [...LOGICAL, 'reg13', 'eth_type', 'reg0', 'ipv4_src'],
    next: ['l3_nexthop'],
    miss: { kind: 'goto', stage: 'l3_nexthop' },
  },
  {
    name: 'l3_nexthop',
    description: 'next hop (reg0) → MACs, network, port key, dec_ttl → egress_dispatch or tunnel; external next hops → l3_ext_neighbour (or the tunnel to the gateway chassis); reactive: miss → controller',
    match: [...LOGICAL, 'reg13', 'eth_type', 'reg0', 'ipv4_src'],
    next: ['l3_ext_neighbour', 'egress_dispatch'],
    miss: { kind: 'drop' },
  },
  {
    name: 'l3_ext_neighbour',
    description: 'external network (metadata) + next hop (reg0) → eth_dst of the learned neighbour → the physical network; unknown → controller (ARP); a floating IP or gateway of this chassis → back in as from outside',
    match: ['metadata', 'reg0'],
    next: ['egress_dispatch'],
    miss: { kind: 'drop' },
    loopback: ['l2_lookup'],
  },
  // ---- egress ----
  {
    name: 'egress_dispatch',
    description: 'reg15: local port → acl_ingress; remote port → output_tunnel (or the physical network, flat/VLAN); 0 → flood group; the physical network port → its patch port',
    match: ['metadata', 'reg15'],
    next: ['acl_ingress', 'output_tunnel'],
    miss: { kind: 'drop' },
  },
  // ---- security groups, to the VM (compile/acl.ts) ----
  {
    name: 'acl_ingress',
    description: 'security groups to the VM: IP to a filtered port → conntrack in its zone (stateful) or the rules (stateless); the rest passes',
    match: [...LOGICAL, 'eth_type', 'ip_proto', 'udp_src', 'udp_dst', 'icmpv6_type'],
    next: ['acl_ingress_state', 'acl_ingress_rules', 'output_local'],
    miss: { kind: 'goto', stage: 'output_local' },
    groupEntry: true,
  },
  {
    name: 'acl_ingress_state',
    description: 'after conntrack: invalid → drop; replies and related of allowed connections → pass; blocked → drop; else the rules',
    match: [...LOGICAL, 'ct_state', 'ct_mark'],
    next: ['acl_ingress_rules', 'output_local'],
    miss: { kind: 'goto', stage: 'acl_ingress_rules' },
  },
  {
    name: 'acl_ingress_rules',
    description: 'ingress rules as conjunctions (port ∈ group, peer ∈ remote group, match); DHCP/ND always; no rule → drop (an established connection is marked blocked)',
    match: [...LOGICAL, ...ETH, ...IP4, ...IP6, 'sctp_src', 'sctp_dst', 'icmpv4_type', 'icmpv4_code', 'ct_state', 'conj_id'],
    next: ['acl_ingress_commit', 'output_local'],
    miss: { kind: 'drop' },
  },
  {
    name: 'acl_ingress_commit',
    description: 'an allowed new (or blocked) connection is committed in the port\'s zone, unblocked',
    match: [...LOGICAL, 'eth_type', 'ct_state', 'ct_mark'],
    next: ['output_local'],
    miss: { kind: 'goto', stage: 'output_local' },
  },
  {
    name: 'output_local',
    description: 'reg15 of a local port → its ofport',
    match: ['metadata', 'reg15'],
    next: [],
    miss: { kind: 'drop' },
  },
  {
    name: 'output_tunnel',
    description: 'reg15 of a remote port → tunnel to its chassis with network and port key',
    match: ['metadata', 'reg15'],
    next: [],
    miss: { kind: 'drop' },
  },
] as const satisfies readonly StageDecl[];

export type StageName = (typeof STAGE_DECLS)[number]['name'];

export interface Stage extends StageDecl {
  readonly name: StageName;
  readonly tableId: number;
  readonly next: readonly StageName[];
  readonly loopback: readonly StageName[];
  readonly matchSet: ReadonlySet<FieldName>;
}

/** First table id of the pipeline (table 0 is where OVS starts every packet). */
export const FIRST_TABLE_ID = 0;

function buildStages(): ReadonlyMap<StageName, Stage> {
  const names = new Set<string>(STAGE_DECLS.map((s) => s.name));
  if (names.size !== STAGE_DECLS.length) throw new Error('duplicate stage name in STAGE_DECLS');
  const out = new Map<StageName, Stage>();
  STAGE_DECLS.forEach((d, i) => {
    const decl = d as StageDecl;
    for (const n of decl.next) {
      if (!names.has(n)) throw new Error(`stage ${decl.name}: unknown next stage ${n}`);
      const j = STAGE_DECLS.findIndex((s) => s.name === n);
      if (j <= i) throw new Error(`stage ${decl.name}: next stage ${n} must come later`);
    }
    for (const n of decl.loopback ?? []) {
      const j = STAGE_DECLS.findIndex((s) => s.name === n);
      if (j < 0 || j >= i) throw new Error(`stage ${decl.name}: loopback stage ${n} must come earlier`);
    }
    if (decl.miss.kind === 'goto' && !decl.next.includes(decl.miss.stage)) {
      throw new Error(`stage ${decl.name}: miss goes to ${decl.miss.stage}, not declared as next`);
    }
    out.set(decl.name as StageName, {
      ...decl,
      name: decl.name as StageName,
      tableId: FIRST_TABLE_ID + i,
      next: decl.next as readonly StageName[],
      loopback: (decl.loopback ?? []) as readonly StageName[],
      matchSet: new Set(decl.match),
    });
  });
  return out;
}

export const STAGES: ReadonlyMap<StageName, Stage> = buildStages();

/** Every stage in table order. */
export const STAGE_LIST: readonly Stage[] = [...STAGES.values()];

export function stage(name: StageName): Stage {
  const s = STAGES.get(name);
  if (!s) throw new Error(`unknown stage ${name}`);
  return s;
}

export function tableId(name: StageName): number {
  return stage(name).tableId;
}

/** The stage of a table id (for traces and dumps), or undefined for a table we do not own. */
export function stageOfTable(id: number): Stage | undefined {
  return STAGE_LIST[id - FIRST_TABLE_ID];
}
