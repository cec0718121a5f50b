/**
 * Key layout of the north-bound model in the store. This file is the contract between the API
 * server (the only writer of these keys, apart from the status fields a controller sets) and the
 * local controllers (readers, via `range` + `watch`).
 *
 * Two trees:
 * - `/nb/<collection>/<uuid>`: one JSON object per Neutron resource (shapes in `records.ts`).
 *   A controller watches `/nb/` and sees every resource change, one transaction per API mutation.
 * - `/ipam/...`: uniqueness and allocation index keys, written in the same transaction as the
 *   resource that owns them and guarded with `createRevision = 0`, so two concurrent API requests
 *   can never allocate the same IP, MAC, segment or OpenFlow key. Controllers may ignore them.
 * - `/guard/...`: per-network guard keys. Every port or subnet change on a network writes its
 *   guard (a blind put); whoever must see "no child appeared since I looked" (network delete,
 *   subnet create/delete) compares the guard's modRevision. Controllers ignore them.
 */

export const NB_PREFIX = '/nb/';
export const IPAM_PREFIX = '/ipam/';
export const GUARD_PREFIX = '/guard/';

/** Collection names used under `/nb/` (the Neutron collection name, e.g. `networks`). */
export function collectionPrefix(collection: string): string {
  return `${NB_PREFIX}${collection}/`;
}

/** `/nb/<collection>/<id>`, e.g. `/nb/ports/0b7c...`. */
export function resourceKey(collection: string, id: string): string {
  return `${NB_PREFIX}${collection}/${id}`;
}

export const NETWORKS_PREFIX = collectionPrefix('networks');
export const SUBNETS_PREFIX = collectionPrefix('subnets');
export const PORTS_PREFIX = collectionPrefix('ports');

/** `/ipam/ip/<subnet_id>/<ip>` → port id holding that address (canonical address text). */
export function ipKey(subnetId: string, ip: string): string {
  return `${IPAM_PREFIX}ip/${subnetId}/${ip}`;
}
export function ipPrefix(subnetId: string): string {
  return `${IPAM_PREFIX}ip/${subnetId}/`;
}

/** `/ipam/mac/<network_id>/<mac>` → port id (MACs are unique per network, lower case). */
export function macKey(networkId: string, mac: string): string {
  return `${IPAM_PREFIX}mac/${networkId}/${mac}`;
}
export function macPrefix(networkId: string): string {
  return `${IPAM_PREFIX}mac/${networkId}/`;
}

/**
 * `/ipam/segment/<type>/<physnet or ->/<segmentation id>` → network id. Flat networks use
 * segmentation id 0 (one flat network per physical network).
 */
export function segmentKey(type: string, physnet: string | null, segId: number): string {
  return `${segmentPrefix(type, physnet)}${segId}`;
}
export function segmentPrefix(type: string, physnet: string | null): string {
  return `${IPAM_PREFIX}segment/${type}/${physnet ?? '-'}/`;
}

/** `/ipam/network-key/<n>` → network id: the small integer OpenFlow key of each network. */
export function networkKeyKey(n: number): string {
  return `${IPAM_PREFIX}network-key/${n}`;
}
export const NETWORK_KEY_PREFIX = `${IPAM_PREFIX}network-key/`;

// ---- Small integer keys ---------------------------------------------------------------------
/*
 * The largest key the server hands out per kind: what the data plane can carry. Port and network
 * keys must fit the VXLAN layout (a 24-bit VNI holds a port key below 2^23 for unicast and
 * 2^23 + network key for flood; pipeline/conventions.ts); router keys live in 16 bits of a
 * register; security-group and rule keys are conjunction ids and cookie keys (32 bits), kept to
 * 24 bits like the others.
 */
export const MAX_NETWORK_KEY = 0x7fffff;
export const MAX_PORT_KEY = 0x7fffff;
export const MAX_ROUTER_KEY = 0xffff;
export const MAX_SECURITY_GROUP_KEY = 0xffffff;
export const MAX_SECURITY_GROUP_RULE_KEY = 0xffffff;

/** `/ipam/port-key/<n>` → port id: the small integer OpenFlow key of each port (global). */
export function portKeyKey(n: number): string {
  return `${IPAM_PREFIX}port-key/${n}`;
}
export const PORT_KEY_PREFIX = `${IPAM_PREFIX}port-key/`;
/** `/ipam/hint/port-key`: where the next port key search starts (an allocation hint only). */
export const PORT_KEY_HINT = `${IPAM_PREFIX}hint/port-key`;

/** `/guard/network/<id>`: see the file comment. */
export function networkGuardKey(networkId: string): string {
  return `${GUARD_PREFIX}network/${networkId}`;
}

/** Id from a `/nb/<collection>/<id>` key. */
export function idFromKey(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

// ---- L3 and security groups ----------------------------------------------------------------

export const ROUTERS_PREFIX = collectionPrefix('routers');
export const FLOATINGIPS_PREFIX = collectionPrefix('floatingips');
export const SECURITY_GROUPS_PREFIX = collectionPrefix('security-groups');
export const SECURITY_GROUP_RULES_PREFIX = collectionPrefix('security-group-rules');

/** `/ipam/router-key/<n>` → router id: the small integer OpenFlow key of each router. */
export function routerKeyKey(n: number): string {
  return `${ROUTER_KEY_PREFIX}${n}`;
}
export const ROUTER_KEY_PREFIX = `${IPAM_PREFIX}router-key/`;

/** `/ipam/security-group-key/<n>` → security group id (its small integer OpenFlow key). */
export function securityGroupKeyKey(n: number): string {
  return `${SECURITY_GROUP_KEY_PREFIX}${n}`;
}
export const SECURITY_GROUP_KEY_PREFIX = `${IPAM_PREFIX}security-group-key/`;

/** `/ipam/security-group-rule-key/<n>` → rule id (its small integer OpenFlow key: conj_id, cookie). */
export function securityGroupRuleKeyKey(n: number): string {
  return `${SECURITY_GROUP_RULE_KEY_PREFIX}${n}`;
}
export const SECURITY_GROUP_RULE_KEY_PREFIX = `${IPAM_PREFIX}security-group-rule-key/`;

/** `/ipam/default-security-group/<project>` → id of that project's `default` group. */
export function defaultSecurityGroupKey(projectId: string): string {
  return `${IPAM_PREFIX}default-security-group/${encodeURIComponent(projectId)}`;
}

/** `/ipam/security-group-rule/<group>/<digest>` → rule id: one rule per distinct match. */
export function securityGroupRuleUniqueKey(groupId: string, digest: string): string {
  return `${IPAM_PREFIX}security-group-rule/${groupId}/${digest}`;
}

/** `/ipam/floatingip-assoc/<port>/<fixed ip>` → floating IP id: one per port address. */
export function floatingIpAssocKey(portId: string, fixedIp: string): string {
  return `${IPAM_PREFIX}floatingip-assoc/${portId}/${fixedIp}`;
}

/**
 * `/guard/router/<id>`: written (blindly) by every floating IP (dis)association through the
 * router; read with a guard by interface removal, gateway change and router delete.
 */
export function routerGuardKey(routerId: string): string {
  return `${GUARD_PREFIX}router/${routerId}`;
}

/**
 * `/guard/security-group/<id>`: written (blindly) whenever a port or rule starts referring to the
 * group; read with a guard by the group's delete.
 */
export function securityGroupGuardKey(groupId: string): string {
  return `${GUARD_PREFIX}security-group/${groupId}`;
}

// ---- Subnet pools -----------------------------------------------------------------------------

export const SUBNETPOOLS_PREFIX = collectionPrefix('subnetpools');

/** `/ipam/default-subnetpool/<4|6>` → id of the default subnet pool of that IP version. */
export function defaultSubnetPoolKey(version: 4 | 6): string {
  return `${IPAM_PREFIX}default-subnetpool/${version}`;
}

/**
 * `/guard/subnetpool/<id>`: read with a guard and written by every allocation from the pool (so
 * two concurrent allocations never take the same prefix), written by every subnet delete of the
 * pool; read with a guard by the pool's delete and prefix changes.
 */
export function subnetPoolGuardKey(poolId: string): string {
  return `${GUARD_PREFIX}subnetpool/${poolId}`;
}
