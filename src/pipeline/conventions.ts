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

// ---------------------------------------------------------------------------------------------
// Keys

/**
 * Keys must fit the VXLAN layout: the 24-bit VNI carries a port key (< 2^23) for unicast and
 * 2^23 + network key for flood. Objects with larger keys get no tunnel flows.
 */
export const MAX_PORT_KEY = 0x7fffff;
export const MAX_NETWORK_KEY = 0x7fffff;
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
  /** Reserved for the router (issue 5). */
  router: 0x04,
  /** Reserved: per-remote-chassis flows, if any are ever needed (key = chassis index). */
  chassis: 0x05,
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

// ---------------------------------------------------------------------------------------------
// Well-known values

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_IPV6 = 0x86dd;
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;
export const IP_PROTO_ICMPV6 = 58;
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const MULTICAST_BIT = '01:00:00:00:00:00';
