/**
 * Pipeline conventions shared by the compilers, the controller (packet-in handling, TLV mapping)
 * and `wyvern trace`. See docs/pipeline.md for the prose version.
 */
import type { FieldName, TlvMap } from '../openflow/types.js';

// ---------------------------------------------------------------------------------------------
// Registers

/** metadata (64 bits) = network key of the packet's logical network. */
export const NETWORK_FIELD = 'metadata' satisfies FieldName;
/** reg14 = logical input port key (0 = unknown, e.g. from a tunnel). */
export const INPORT_REG = 'reg14' satisfies FieldName;
/** reg15 = logical output port key (0 = flood). */
export const OUTPORT_REG = 'reg15' satisfies FieldName;
/** reg15 value meaning "flood in the network". */
export const FLOOD_PORT_KEY = 0;
/**
 * reg14/reg15 value of a physical network's patch port ("localnet", OVN's word): the port through
 * which a flat or VLAN network reaches the world. Above every port key (MAX_PORT_KEY), so it
 * never names a VIF.
 */
export const LOCALNET_PORT_KEY = 0xfffffe;
/** reg13 = router key, set by l2_lookup when eth_dst is a router interface MAC (L3 stages). */
export const ROUTER_REG = 'reg13' satisfies FieldName;
/** reg0 = next hop IPv4 address (u32, host order of the dotted quad) chosen by l3_route. */
export const NEXTHOP_REG = 'reg0' satisfies FieldName;
/** reg12[0..15] = conntrack zone of the port whose security groups are being applied (acl stages). */
export const CT_ZONE_REG = 'reg12' satisfies FieldName;
/** The zone as a ct() zone source. */
export const CT_ZONE_FIELD = { field: CT_ZONE_REG, ofs: 0, nbits: 16 } as const;

// ---------------------------------------------------------------------------------------------
// Conntrack

/**
 * ct_mark bit 0 = blocked: a connection committed while a rule allowed it, whose rule has since
 * gone (OVN's ct_mark.blocked). Its replies no longer pass; a rule allowing it again clears it.
 */
export const CT_MARK_BLOCKED = 0x1;
/** Conntrack zones the controller hands to ports: 1..65535 (0 is the default zone). */
export const CT_ZONE_MIN = 1;
export const CT_ZONE_MAX = 0xffff;

// ---------------------------------------------------------------------------------------------
// Keys

/**
 * Keys must fit the VXLAN layout: the 24-bit VNI carries a port key (< 2^23) for unicast and
 * 2^23 + network key for flood. The server never allocates larger keys (model/keys.ts); the
 * compilers still refuse tunnel flows for one (a record written by another tool).
 */
export { MAX_NETWORK_KEY, MAX_PORT_KEY } from '../model/keys.js';
export const VXLAN_FLOOD_BIT = 0x800000;

// ---------------------------------------------------------------------------------------------
// Tunnels

/**
 * Geneve: tun_id (VNI) = network key; the destination port key travels in one Geneve option,
 * class GENEVE_OPT_CLASS (0xff57, from the experimental range 0xff00–0xffff, so we never claim
 * another project's class), type 0x80 (critical bit set: a receiver that does not understand it
 * must drop), 4 bytes, mapped to tun_metadata0 with NXT_TLV_TABLE_MOD. 0 = flood to local ports.
 */
export const GENEVE_OPT_CLASS = 0xff57;
export const GENEVE_OPT_TYPE = 0x80;
export const GENEVE_OPT_LEN = 4;
export const GENEVE_PORT_FIELD = 'tun_metadata0' satisfies FieldName;
export const GENEVE_PORT_TLV_INDEX = 0;

/** The mapping the controller installs with NXT_TLV_TABLE_MOD (command add) before any flow. */
export const GENEVE_TLV_MAPPINGS: readonly TlvMap[] = [
  { optClass: GENEVE_OPT_CLASS, optType: GENEVE_OPT_TYPE, optLen: GENEVE_OPT_LEN, index: GENEVE_PORT_TLV_INDEX },
];

/** CodecOptions.tunMetadataLengths matching GENEVE_TLV_MAPPINGS. */
export const TUN_METADATA_LENGTHS: Readonly<Record<number, number>> = { [GENEVE_PORT_TLV_INDEX]: GENEVE_OPT_LEN };

/** VXLAN VNI for unicast to a port. */
export function vxlanUnicastVni(portKey: number): bigint {
  return BigInt(portKey);
}
/** VXLAN VNI for a flood in a network. */
export function vxlanFloodVni(networkKey: number): bigint {
  return BigInt(VXLAN_FLOOD_BIT + networkKey);
}

// ---------------------------------------------------------------------------------------------
// Groups

/**
 * Group ids: high nibble = group kind, low 28 bits = owner key.
 * 0x1nnnnnnn flood in network n (local ports + one copy per remote chassis);
 * 0x2nnnnnnn local-only flood in network n (for packets that came from a tunnel).
 * 0x3…–0xE… are free (e.g. the router's ECMP groups).
 */
export const GROUP_KIND_FLOOD = 0x1;
export const GROUP_KIND_LOCAL_FLOOD = 0x2;
export function floodGroupId(networkKey: number): number {
  return GROUP_KIND_FLOOD * 0x10000000 + networkKey;
}
export function localFloodGroupId(networkKey: number): number {
  return GROUP_KIND_LOCAL_FLOOD * 0x10000000 + networkKey;
}
export function decodeGroupId(id: number): { kind: 'flood' | 'local_flood' | 'unknown'; key: number } {
  const kind = Math.floor(id / 0x10000000);
  const key = id % 0x10000000;
  if (kind === GROUP_KIND_FLOOD) return { kind: 'flood', key };
  if (kind === GROUP_KIND_LOCAL_FLOOD) return { kind: 'local_flood', key };
  return { kind: 'unknown', key };
}

// ---------------------------------------------------------------------------------------------
// Cookies and owners

/**
 * Every flow's cookie names the logical object that produced it:
 *   bits 56..63 owner kind (OWNER_KIND_CODES), bits 32..55 zero (reserved), bits 0..31 owner key.
 * Groups carry no cookie; their owner is implied by the group id.
 */
export const OWNER_KIND_CODES = {
  /** Flows of the pipeline itself (miss flows, tunnel classification): key 0. */
  pipeline: 0x01,
  network: 0x02,
  port: 0x03,
  /** The distributed router (key = router key): l2_lookup → l3_input, its ARP, l3_input, l3_route. */
  router: 0x04,
  /** Reserved: per-remote-chassis flows, if any are ever needed (key = chassis index). */
  chassis: 0x05,
  /**
   * Flows the controller installs itself in reactive L3 mode (key = destination port key), with an
   * idle timeout. Never in the desired table; `diff` never deletes them (see reactive.ts).
   */
  reactive: 0x06,
  /** A member port of a remote group (key = port key): its address flows. */
  sg_member: 0x07,
  /** A security group rule (key = rule key): its match and conjunction flows, or a port's flow it allows. */
  sg_rule: 0x08,
  /** A floating IP (key = the key of the port holding its address): its NAT on the VM's chassis. */
  floatingip: 0x09,
} as const;

export type OwnerKind = keyof typeof OWNER_KIND_CODES;

export interface Owner {
  readonly kind: OwnerKind;
  readonly key: number;
}

export const PIPELINE_OWNER: Owner = { kind: 'pipeline', key: 0 };

export function ownerId(o: Owner): string {
  return `${o.kind}:${o.key}`;
}

export function parseOwnerId(id: string): Owner {
  const [kind, key] = id.split(':');
  if (!(kind in OWNER_KIND_CODES) || key === undefined || !/^\d+$/.test(key)) {
    throw new Error(`bad owner id ${id}`);
  }
  return { kind: kind as OwnerKind, key: Number(key) };
}

export function ownerCookie(o: Owner): bigint {
  return (BigInt(OWNER_KIND_CODES[o.kind]) << 56n) | BigInt(o.key >>> 0);
}

/** Mask selecting every flow of one owner (use with the owner's cookie in flow_mod/stats). */
export const OWNER_COOKIE_MASK = 0xff000000ffffffffn;
/** Mask selecting every flow of one owner kind. */
export const OWNER_KIND_COOKIE_MASK = 0xff00000000000000n;

/** Is this the cookie of a reactive L3 flow (installed by the controller, never diffed away)? */
export function isReactiveCookie(cookie: bigint): boolean {
  return (cookie & OWNER_KIND_COOKIE_MASK) === BigInt(OWNER_KIND_CODES.reactive) << 56n;
}

/** Decodes a cookie back to its owner (for `wyvern trace`); undefined if not one of ours. */
export function decodeCookie(cookie: bigint): Owner | undefined {
  const code = Number((cookie >> 56n) & 0xffn);
  if ((cookie >> 32n) & 0xffffffn) return undefined;
  const kind = (Object.keys(OWNER_KIND_CODES) as OwnerKind[]).find((k) => OWNER_KIND_CODES[k] === code);
  if (!kind) return undefined;
  return { kind, key: Number(cookie & 0xffffffffn) };
}

// ---------------------------------------------------------------------------------------------
// Packet-in

/** userdata of the DHCP punt (controller2): the logical input port key, 4 bytes big-endian. */
export function dhcpPuntUserdata(portKey: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(portKey >>> 0);
  return b;
}
export function decodePuntUserdata(userdata: Buffer): number | undefined {
  return userdata.length === 4 ? userdata.readUInt32BE(0) : undefined;
}

/** max_len of punts: the whole packet (OFPCML_NO_BUFFER). */
export const PUNT_MAX_LEN = 0xffff;

/**
 * L3 punts (controller2 userdata), 12 bytes: byte 0 = L3_PUNT_MAGIC, byte 1 = kind code,
 * bytes 2–3 zero, bytes 4–7 router key (u32 BE), bytes 8–11 network key (u32 BE, see each kind).
 * (The DHCP punt's userdata is 4 bytes, so the two never collide.) The packet-in's match also
 * carries the pipeline fields: metadata = ingress network key, reg14 = ingress port key,
 * reg13 = router key, reg0 = next hop (l3_nexthop punts), in_port = the sender's ofport.
 */
export const L3_PUNT_MAGIC = 0x57;
export const L3_PUNT_CODES = {
  /** TTL <= 1 arriving at the router: send ICMP time exceeded (11/0). network = ingress network. */
  ttl_exceeded: 0x01,
  /** ICMP echo request to a router interface address: reply. network = the pinged interface's network. */
  icmp_echo: 0x02,
  /** No route for ipv4_dst: send ICMP destination unreachable (3/0, net). network = ingress network. */
  no_route: 0x03,
  /** Reactive mode, l3_nexthop miss: resolve the next hop, install `reactiveFlow`, packet-out. network = 0. */
  reactive_miss: 0x04,
  /** l3_ext_neighbour miss: ARP for reg0 on external network `network` (router = 0). */
  neighbour_miss: 0x05,
  /** An ARP reply (or request) from the physical network to one of our addresses there: learn the sender. */
  neighbour_learn: 0x06,
} as const;
export type L3PuntKind = keyof typeof L3_PUNT_CODES;

export type Punt =
  | { readonly kind: 'dhcp'; readonly portKey: number }
  | { readonly kind: 'ttl_exceeded'; readonly routerKey: number; readonly networkKey: number }
  | { readonly kind: 'icmp_echo'; readonly routerKey: number; readonly networkKey: number }
  | { readonly kind: 'no_route'; readonly routerKey: number; readonly networkKey: number }
  | { readonly kind: 'reactive_miss'; readonly routerKey: number }
  | { readonly kind: 'neighbour_miss'; readonly networkKey: number }
  | { readonly kind: 'neighbour_learn'; readonly networkKey: number };

function l3Punt(kind: L3PuntKind, routerKey: number, networkKey: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = L3_PUNT_MAGIC;
  b[1] = L3_PUNT_CODES[kind];
  b.writeUInt32BE(routerKey >>> 0, 4);
  b.writeUInt32BE(networkKey >>> 0, 8);
  return b;
}
/** userdata: TTL exceeded at router `routerKey`, arriving from network `ingressNetworkKey`. */
export function ttlExceededPuntUserdata(routerKey: number, ingressNetworkKey: number): Buffer {
  return l3Punt('ttl_exceeded', routerKey, ingressNetworkKey);
}
/** userdata: echo request to the router's address on network `interfaceNetworkKey`. */
export function icmpEchoPuntUserdata(routerKey: number, interfaceNetworkKey: number): Buffer {
  return l3Punt('icmp_echo', routerKey, interfaceNetworkKey);
}
/** userdata: no route at router `routerKey`, arriving from network `ingressNetworkKey`. */
export function noRoutePuntUserdata(routerKey: number, ingressNetworkKey: number): Buffer {
  return l3Punt('no_route', routerKey, ingressNetworkKey);
}
/** userdata: reactive l3_nexthop miss at router `routerKey`. */
export function reactiveMissPuntUserdata(routerKey: number): Buffer {
  return l3Punt('reactive_miss', routerKey, 0);
}

/** userdata: no neighbour for reg0 on external network `networkKey`. */
export function neighbourMissPuntUserdata(networkKey: number): Buffer {
  return l3Punt('neighbour_miss', 0, networkKey);
}
/** userdata: an ARP packet to learn from, on external network `networkKey`. */
export function neighbourLearnPuntUserdata(networkKey: number): Buffer {
  return l3Punt('neighbour_learn', 0, networkKey);
}

/** Any punt's userdata → what it is (typed union), or undefined if not ours. */
export function decodePunt(userdata: Buffer): Punt | undefined {
  if (userdata.length === 4) return { kind: 'dhcp', portKey: userdata.readUInt32BE(0) };
  if (userdata.length !== 12 || userdata[0] !== L3_PUNT_MAGIC || userdata[2] !== 0 || userdata[3] !== 0) return undefined;
  const code = userdata[1];
  const kind = (Object.keys(L3_PUNT_CODES) as L3PuntKind[]).find((k) => L3_PUNT_CODES[k] === code);
  if (!kind) return undefined;
  const routerKey = userdata.readUInt32BE(4);
  const networkKey = userdata.readUInt32BE(8);
  if (kind === 'reactive_miss') return { kind, routerKey };
  if (kind === 'neighbour_miss' || kind === 'neighbour_learn') return { kind, networkKey };
  return { kind, routerKey, networkKey };
}

// ---------------------------------------------------------------------------------------------
// Meters (rate limits of punts)

/** The body of a meter_mod (add) the controller sends before any flow that uses the meter. */
export interface MeterDef {
  readonly command: 'add';
  readonly meterId: number;
  readonly flags: { readonly pktps: true; readonly burst: true; readonly stats: true };
  readonly bands: readonly [{ readonly type: 'drop'; readonly rate: number; readonly burstSize: number }];
}

function pktpsMeter(meterId: number, rate: number, burstSize: number): MeterDef {
  return { command: 'add', meterId, flags: { pktps: true, burst: true, stats: true }, bands: [{ type: 'drop', rate, burstSize }] };
}

/** Router ICMP punts (TTL exceeded, echo to the router, no route): low rate, like a router's ICMP limit. */
export const ICMP_PUNT_METER_ID = 1;
export const ICMP_PUNT_METER: MeterDef = pktpsMeter(ICMP_PUNT_METER_ID, 100, 50);
/** Reactive L3 misses: high enough for the new-flow goal, low enough that a /16 scan cannot starve us. */
export const REACTIVE_PUNT_METER_ID = 2;
export const REACTIVE_PUNT_METER: MeterDef = pktpsMeter(REACTIVE_PUNT_METER_ID, 50_000, 5_000);
/** ARP on external networks (next hop misses, replies to learn): a neighbour table's worth per second. */
export const NEIGHBOUR_PUNT_METER_ID = 3;
export const NEIGHBOUR_PUNT_METER: MeterDef = pktpsMeter(NEIGHBOUR_PUNT_METER_ID, 200, 100);
/** Every meter a punt flow may use: install all (meter_mod add, or modify if it exists) before flows. */
export const PUNT_METERS: readonly MeterDef[] = [ICMP_PUNT_METER, REACTIVE_PUNT_METER, NEIGHBOUR_PUNT_METER];

// ---------------------------------------------------------------------------------------------
// Well-known values

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_IPV6 = 0x86dd;
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;
export const IP_PROTO_SCTP = 132;
export const IP_PROTO_ICMPV6 = 58;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const ETH_TYPE_VLAN = 0x8100;
/** OFPVID_PRESENT: a vlan_vid match/set value carries it when the frame has a VLAN tag. */
export const OFPVID_PRESENT = 0x1000;
export const MULTICAST_BIT = '01:00:00:00:00:00';
