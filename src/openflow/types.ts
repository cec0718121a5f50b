// OpenFlow 1.3 (+ Nicira / ONF extensions) message and flow model.
//
// Value conventions:
//   MAC      lowercase "aa:bb:cc:dd:ee:ff"
//   IPv4     dotted quad "10.0.0.1"
//   IPv6     string; decode returns the canonical compressed form ("fe80::1")
//   64/128-bit values (metadata, tunnel_id, xreg, xxreg, ct_label, cookies, counters) bigint
//   tun_metadataN  bigint; its wire length comes from CodecOptions.tunMetadataLengths (default 4)
//   everything else number
// Masked match values are `{ value, mask }` with the same type for both.

// ---------------------------------------------------------------------------------------------
// Match fields

export type MacAddr = string;
export type Ipv4Addr = string;
export type Ipv6Addr = string;

type RegName = `reg${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15}`;
type XregName = `xreg${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7}`;
type XxregName = `xxreg${0 | 1 | 2 | 3}`;
type Digit = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
type TunMetaIndex = Digit | `${1 | 2 | 3 | 4 | 5}${Digit}` | `6${0 | 1 | 2 | 3}`;
export type TunMetadataName = `tun_metadata${TunMetaIndex}`;

interface FixedFieldValueMap {
  in_port: number;
  metadata: bigint;
  eth_dst: MacAddr;
  eth_src: MacAddr;
  eth_type: number;
  /** OF1.3 semantics: 0x1000 | vid for "tagged with vid", 0 for "untagged" (OFPVID_PRESENT = 0x1000). */
  vlan_vid: number;
  vlan_pcp: number;
  /** DSCP value (6 bits, 0..63), not the TOS byte. */
  ip_dscp: number;
  ip_ecn: number;
  ip_proto: number;
  nw_ttl: number;
  ipv4_src: Ipv4Addr;
  ipv4_dst: Ipv4Addr;
  tcp_src: number;
  tcp_dst: number;
  udp_src: number;
  udp_dst: number;
  sctp_src: number;
  sctp_dst: number;
  icmpv4_type: number;
  icmpv4_code: number;
  arp_op: number;
  arp_spa: Ipv4Addr;
  arp_tpa: Ipv4Addr;
  arp_sha: MacAddr;
  arp_tha: MacAddr;
  ipv6_src: Ipv6Addr;
  ipv6_dst: Ipv6Addr;
  icmpv6_type: number;
  icmpv6_code: number;
  nd_target: Ipv6Addr;
  nd_sll: MacAddr;
  nd_tll: MacAddr;
  tunnel_id: bigint;
  tun_ipv4_src: Ipv4Addr;
  tun_ipv4_dst: Ipv4Addr;
  /** Bits: see CT_STATE below. */
  ct_state: number;
  ct_zone: number;
  ct_mark: number;
  ct_label: bigint;
  conj_id: number;
  pkt_mark: number;
}

export type FieldValueMap = FixedFieldValueMap &
  { [K in RegName]: number } &
  { [K in XregName]: bigint } &
  { [K in XxregName]: bigint } &
  { [K in TunMetadataName]: bigint };

export type FieldName = keyof FieldValueMap;

export interface Masked<T> {
  readonly value: T;
  readonly mask: T;
}

export type MatchValue<K extends FieldName> = FieldValueMap[K] | Masked<FieldValueMap[K]>;

/**
 * A flow match. Prerequisites are the caller's job: encoding rejects e.g. ipv4_src without
 * eth_type: 0x0800, tcp_dst without ip_proto: 6, nd_sll without icmpv6_type: 135, vlan_pcp without
 * a vlan_vid carrying 0x1000 (OfEncodeError code 'missing_prerequisite'). Fields sharing storage
 * (reg2/reg3 vs xreg1, reg4..7 vs xxreg1) must not be combined: OVS rejects them as DUP_FIELD.
 */
export type Match = { readonly [K in FieldName]?: MatchValue<K> };

/** ct_state bits (NXM_NX_CT_STATE). */
export const CT_STATE = {
  new: 0x01,
  est: 0x02,
  rel: 0x04,
  rpl: 0x08,
  inv: 0x10,
  trk: 0x20,
  snat: 0x40,
  dnat: 0x80,
} as const;

/** A bit range of a field, as in NXM "reg13[0..15]" = { field: 'reg13', ofs: 0, nbits: 16 }. */
export interface SubField {
  readonly field: FieldName;
  readonly ofs: number;
  readonly nbits: number;
}

// ---------------------------------------------------------------------------------------------
// Actions

export type PortName = 'in_port' | 'table' | 'normal' | 'flood' | 'all' | 'controller' | 'local' | 'any';
export type PortNo = number | PortName;

/** `set_field` typed per field: `{ type:'set_field', field:'eth_src', value:'aa:..' }`. */
export type SetFieldAction = {
  [K in FieldName]: { readonly type: 'set_field'; readonly field: K; readonly value: FieldValueMap[K] };
}[FieldName];

export interface NatSpec {
  readonly kind: 'src' | 'dst';
  readonly ipv4Min?: Ipv4Addr;
  readonly ipv4Max?: Ipv4Addr;
  readonly ipv6Min?: Ipv6Addr;
  readonly ipv6Max?: Ipv6Addr;
  readonly portMin?: number;
  readonly portMax?: number;
  readonly persistent?: boolean;
  readonly random?: boolean;
  readonly hash?: boolean;
}
/** Bare `nat` (no kind): in ct(commit) re-applies the NAT of the connection. */
export type BareNat = Readonly<Record<string, never>>;

export type Action =
  | { readonly type: 'output'; readonly port: PortNo; readonly maxLen?: number }
  | { readonly type: 'group'; readonly groupId: number }
  | SetFieldAction
  | { readonly type: 'push_vlan'; readonly ethertype: number }
  | { readonly type: 'pop_vlan' }
  | { readonly type: 'dec_ttl' }
  | { readonly type: 'set_queue'; readonly queueId: number }
  /** NXAST_RESUBMIT (table omitted) or NXAST_RESUBMIT_TABLE; port omitted = in_port. */
  | { readonly type: 'resubmit'; readonly port?: PortNo; readonly table?: number }
  | {
      readonly type: 'ct';
      readonly commit?: boolean;
      readonly force?: boolean;
      readonly zone?: number | SubField;
      readonly table?: number;
      readonly alg?: number;
      readonly nat?: NatSpec | BareNat;
      /** Encoded after nat; typically set_field ct_mark / ct_label (ovs-ofctl `exec(...)`). */
      readonly actions?: readonly Action[];
    }
  | { readonly type: 'ct_clear' }
  /** clause is 1-based as in ovs-ofctl `conjunction(id,clause/nClauses)` (the wire carries clause-1). */
  | { readonly type: 'conjunction'; readonly id: number; readonly clause: number; readonly nClauses: number }
  | { readonly type: 'move'; readonly src: SubField; readonly dst: SubField }
  /** Partial load: dst[ofs..ofs+nbits-1] = value (NXAST_REG_LOAD). */
  | { readonly type: 'load'; readonly dst: SubField; readonly value: bigint }
  | { readonly type: 'note'; readonly data: Buffer }
  | {
      readonly type: 'controller2';
      readonly maxLen?: number;
      readonly controllerId?: number;
      readonly reason?: PacketInReason;
      readonly userdata?: Buffer;
      readonly pause?: boolean;
      readonly meterId?: number;
    }
  /** Any experimenter/unknown action, kept as raw bytes (whole action, header included). */
  | { readonly type: 'unknown_action'; readonly raw: Buffer };

export type ActionType = Action['type'];

// ---------------------------------------------------------------------------------------------
// Instructions

export type Instruction =
  | { readonly type: 'goto_table'; readonly tableId: number }
  | { readonly type: 'write_metadata'; readonly metadata: bigint; readonly mask: bigint }
  | { readonly type: 'apply_actions'; readonly actions: readonly Action[] }
  | { readonly type: 'write_actions'; readonly actions: readonly Action[] }
  | { readonly type: 'clear_actions' }
  | { readonly type: 'meter'; readonly meterId: number }
  | { readonly type: 'unknown_instruction'; readonly raw: Buffer };

// ---------------------------------------------------------------------------------------------
// Flow / group / meter mods

export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';

export interface FlowModFlags {
  readonly sendFlowRem?: boolean;
  readonly checkOverlap?: boolean;
  readonly resetCounts?: boolean;
  readonly noPktCounts?: boolean;
  readonly noBytCounts?: boolean;
}

export interface FlowModBody {
  readonly command: FlowModCommand;
  readonly tableId: number;
  readonly priority: number;
  readonly cookie: bigint;
  readonly cookieMask: bigint;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly flags: FlowModFlags;
  /** OFP_NO_BUFFER = 0xffffffff */
  readonly bufferId: number;
  /** OFPP_ANY ('any' / 0xffffffff) unless filtering deletes. */
  readonly outPort: PortNo;
  /** OFPG_ANY = 0xffffffff unless filtering deletes. */
  readonly outGroup: number;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
}

export type GroupType = 'all' | 'select' | 'indirect' | 'ff';
export type GroupModCommand = 'add' | 'modify' | 'delete';

export interface Bucket {
  readonly weight: number;
  /** OFPP_ANY = 0xffffffff when unused. */
  readonly watchPort: number;
  /** OFPG_ANY = 0xffffffff when unused. */
  readonly watchGroup: number;
  readonly actions: readonly Action[];
}

export interface GroupModBody {
  readonly command: GroupModCommand;
  readonly groupType: GroupType;
  readonly groupId: number;
  readonly buckets: readonly Bucket[];
}

export type MeterBand =
  | { readonly type: 'drop'; readonly rate: number; readonly burstSize: number }
  | { readonly type: 'dscp_remark'; readonly rate: number; readonly burstSize: number; readonly precLevel: number };

export interface MeterFlags {
  readonly kbps?: boolean;
  readonly pktps?: boolean;
  readonly burst?: boolean;
  readonly stats?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Messages

export type PacketInReason =
  | 'no_match'
  | 'action'
  | 'invalid_ttl'
  | 'action_set'
  | 'group'
  | 'packet_out';

export type FlowRemovedReason = 'idle_timeout' | 'hard_timeout' | 'delete' | 'group_delete' | 'meter_delete';
export type PortStatusReason = 'add' | 'delete' | 'modify';
export type ControllerRole = 'nochange' | 'equal' | 'master' | 'slave';

export interface PortDesc {
  readonly portNo: number;
  readonly hwAddr: MacAddr;
  readonly name: string;
  readonly config: number;
  readonly state: number;
  readonly curr: number;
  readonly advertised: number;
  readonly supported: number;
  readonly peer: number;
  readonly currSpeed: number;
  readonly maxSpeed: number;
}

export interface FlowStats {
  readonly tableId: number;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly priority: number;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly flags: FlowModFlags;
  readonly cookie: bigint;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly match: Match;
  readonly instructions: readonly Instruction[];
}

export interface PortStats {
  readonly portNo: number;
  readonly rxPackets: bigint;
  readonly txPackets: bigint;
  readonly rxBytes: bigint;
  readonly txBytes: bigint;
  readonly rxDropped: bigint;
  readonly txDropped: bigint;
  readonly rxErrors: bigint;
  readonly txErrors: bigint;
  readonly rxFrameErr: bigint;
  readonly rxOverErr: bigint;
  readonly rxCrcErr: bigint;
  readonly collisions: bigint;
  readonly durationSec: number;
  readonly durationNsec: number;
}

export interface GroupDesc {
  readonly groupType: GroupType;
  readonly groupId: number;
  readonly buckets: readonly Bucket[];
}

/** Masks as in ofp_async_config: index 0 = master/equal, 1 = slave. */
export interface AsyncConfig {
  readonly packetInMask: readonly [number, number];
  readonly portStatusMask: readonly [number, number];
  readonly flowRemovedMask: readonly [number, number];
}

export interface TlvMap {
  readonly optClass: number;
  readonly optType: number;
  /** Option length in bytes (multiple of 4, 4..124). */
  readonly optLen: number;
  /** tun_metadata index 0..63. */
  readonly index: number;
}

export type BundleCtrlType =
  | 'open_request'
  | 'open_reply'
  | 'close_request'
  | 'close_reply'
  | 'commit_request'
  | 'commit_reply'
  | 'discard_request'
  | 'discard_reply';

export interface BundleFlags {
  readonly atomic?: boolean;
  readonly ordered?: boolean;
}

interface Xid {
  readonly xid: number;
}

export type OfMessage =
  | ({ readonly type: 'hello'; readonly versions: readonly number[] } & Xid)
  | ({
      readonly type: 'error';
      /** Numeric OFPET_* (0xffff = experimenter). */
      readonly errType: number;
      readonly code: number;
      /** Symbolic names when known, e.g. 'BAD_MATCH' / 'BAD_PREREQ'. */
      readonly errTypeName?: string;
      readonly codeName?: string;
      /** For experimenter errors. */
      readonly experimenter?: number;
      /** Header of the offending request if the data holds one. */
      readonly failedRequest?: { readonly type: number; readonly length: number; readonly xid: number };
      readonly data: Buffer;
    } & Xid)
  | ({ readonly type: 'echo_request'; readonly data: Buffer } & Xid)
  | ({ readonly type: 'echo_reply'; readonly data: Buffer } & Xid)
  | ({ readonly type: 'features_request' } & Xid)
  | ({
      readonly type: 'features_reply';
      readonly datapathId: bigint;
      readonly nBuffers: number;
      readonly nTables: number;
      readonly auxiliaryId: number;
      readonly capabilities: number;
    } & Xid)
  | ({ readonly type: 'get_config_request' } & Xid)
  | ({ readonly type: 'get_config_reply'; readonly flags: number; readonly missSendLen: number } & Xid)
  | ({ readonly type: 'set_config'; readonly flags: number; readonly missSendLen: number } & Xid)
  | ({ readonly type: 'flow_mod' } & FlowModBody & Xid)
  | ({ readonly type: 'group_mod' } & GroupModBody & Xid)
  | ({
      readonly type: 'meter_mod';
      readonly command: 'add' | 'modify' | 'delete';
      readonly flags: MeterFlags;
      readonly meterId: number;
      readonly bands: readonly MeterBand[];
    } & Xid)
  | ({
      readonly type: 'packet_in';
      readonly bufferId: number;
      readonly totalLen: number;
      readonly reason: PacketInReason;
      readonly tableId: number;
      readonly cookie: bigint;
      readonly match: Match;
      readonly data: Buffer;
    } & Xid)
  | ({
      readonly type: 'packet_out';
      readonly bufferId: number;
      readonly inPort: PortNo;
      readonly actions: readonly Action[];
      readonly data: Buffer;
    } & Xid)
  | ({
      readonly type: 'flow_removed';
      readonly cookie: bigint;
      readonly priority: number;
      readonly reason: FlowRemovedReason;
      readonly tableId: number;
      readonly durationSec: number;
      readonly durationNsec: number;
      readonly idleTimeout: number;
      readonly hardTimeout: number;
      readonly packetCount: bigint;
      readonly byteCount: bigint;
      readonly match: Match;
    } & Xid)
  | ({ readonly type: 'port_status'; readonly reason: PortStatusReason; readonly desc: PortDesc } & Xid)
  | ({ readonly type: 'barrier_request' } & Xid)
  | ({ readonly type: 'barrier_reply' } & Xid)
  | ({
      readonly type: 'flow_stats_request';
      readonly flags: number;
      readonly tableId: number;
      readonly outPort: PortNo;
      readonly outGroup: number;
      readonly cookie: bigint;
      readonly cookieMask: bigint;
      readonly match: Match;
    } & Xid)
  | ({ readonly type: 'flow_stats_reply'; readonly more: boolean; readonly stats: readonly FlowStats[] } & Xid)
  | ({ readonly type: 'port_desc_request' } & Xid)
  | ({ readonly type: 'port_desc_reply'; readonly more: boolean; readonly ports: readonly PortDesc[] } & Xid)
  | ({ readonly type: 'group_desc_request' } & Xid)
  | ({ readonly type: 'group_desc_reply'; readonly more: boolean; readonly groups: readonly GroupDesc[] } & Xid)
  | ({ readonly type: 'port_stats_request'; readonly portNo: PortNo } & Xid)
  | ({ readonly type: 'port_stats_reply'; readonly more: boolean; readonly stats: readonly PortStats[] } & Xid)
  | ({ readonly type: 'role_request'; readonly role: ControllerRole; readonly generationId: bigint } & Xid)
  | ({ readonly type: 'role_reply'; readonly role: ControllerRole; readonly generationId: bigint } & Xid)
  | ({ readonly type: 'get_async_request' } & Xid)
  | ({ readonly type: 'get_async_reply' } & AsyncConfig & Xid)
  | ({ readonly type: 'set_async' } & AsyncConfig & Xid)
  | ({
      readonly type: 'bundle_control';
      readonly bundleId: number;
      readonly ctrlType: BundleCtrlType;
      readonly flags: BundleFlags;
    } & Xid)
  | ({
      readonly type: 'bundle_add';
      readonly bundleId: number;
      readonly flags: BundleFlags;
      /** The inner message (flow_mod / group_mod / ...); its own xid should equal the outer one. */
      readonly message: OfMessage;
    } & Xid)
  | ({ readonly type: 'set_packet_in_format'; readonly format: 'standard' | 'nxt_packet_in' | 'nxt_packet_in2' } & Xid)
  | ({ readonly type: 'set_controller_id'; readonly controllerId: number } & Xid)
  | ({
      readonly type: 'tlv_table_mod';
      readonly command: 'add' | 'delete' | 'clear';
      readonly mappings: readonly TlvMap[];
    } & Xid)
  | ({ readonly type: 'tlv_table_request' } & Xid)
  | ({
      readonly type: 'tlv_table_reply';
      readonly maxOptionSpace: number;
      readonly maxFields: number;
      readonly mappings: readonly TlvMap[];
    } & Xid)
  | ({
      readonly type: 'packet_in2';
      readonly packet: Buffer;
      readonly fullLen?: number;
      readonly bufferId?: number;
      readonly tableId?: number;
      readonly cookie?: bigint;
      readonly reason?: PacketInReason;
      /** Pipeline metadata (in_port, regs, ct_*, tunnel...) as a match. */
      readonly metadata: Match;
      readonly userdata?: Buffer;
      /** Opaque continuation, to be sent back verbatim in a resume message. */
      readonly continuation?: Buffer;
    } & Xid)
  | ({
      /** NXT_RESUME: echoes a packet_in2 (packet, metadata, continuation) back to the switch. */
      readonly type: 'resume';
      readonly packet: Buffer;
      readonly metadata: Match;
      readonly continuation: Buffer;
    } & Xid)
  | ({
      readonly type: 'experimenter';
      readonly experimenter: number;
      readonly expType: number;
      readonly data: Buffer;
    } & Xid)
  | ({
      /** Any message we do not model: the whole frame, header included. */
      readonly type: 'unknown';
      readonly version: number;
      readonly msgType: number;
      readonly raw: Buffer;
    } & Xid);

export type OfMessageType = OfMessage['type'];
export type MessageOf<T extends OfMessageType> = Extract<OfMessage, { type: T }>;

/** Options for encoding/decoding matches that depend on switch state. */
export interface CodecOptions {
  /**
   * Byte length of each tun_metadataN as mapped by NXT_TLV_TABLE_MOD (index → option length).
   * Unlisted indexes default to 4 bytes. Decode does not need this: the wire carries the length.
   */
  readonly tunMetadataLengths?: Readonly<Partial<Record<number, number>>>;
}
