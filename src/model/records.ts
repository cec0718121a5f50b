/**
 * JSON shapes stored under `/nb/<collection>/<id>` (see `keys.ts`). Attribute names are Neutron's
 * own (including `binding:host_id`, `provider:network_type`, ...), so a stored record reads like
 * the API object. Fields marked "internal" are not part of the Neutron API; derived API fields
 * (a network's `subnets`, `tenant_id`) are not stored.
 *
 * Records are written only by the API server, one transaction per API request, except the
 * runtime fields a controller owns: a port's `status` and `binding:vif_type`/`binding:vif_details`
 * (a controller updates them with a compare on the record's modRevision).
 */

/** Fields every Neutron resource carries (standard attributes). */
export interface StandardRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly project_id: string;
  readonly tags: readonly string[];
  /** ISO 8601 UTC without fractional seconds, e.g. `2026-01-01T00:00:00Z`. */
  readonly created_at: string;
  readonly updated_at: string;
  /** Bumped by every update of this record (starts at 0, like Neutron). */
  readonly revision_number: number;
}

export type NetworkType = 'geneve' | 'vxlan' | 'vlan' | 'flat' | 'local';

export interface NetworkRecord extends StandardRecord {
  readonly admin_state_up: boolean;
  readonly status: 'ACTIVE' | 'DOWN' | 'BUILD' | 'ERROR';
  readonly shared: boolean;
  readonly 'router:external': boolean;
  readonly mtu: number;
  readonly port_security_enabled: boolean;
  readonly 'provider:network_type': NetworkType;
  /** Physical network name for vlan/flat, null for overlay types. */
  readonly 'provider:physical_network': string | null;
  /** VNI (geneve/vxlan), VLAN id (vlan), null (flat/local). */
  readonly 'provider:segmentation_id': number | null;
  /** Internal: small integer OpenFlow key of the network (tunnel id / metadata), unique, >= 1. */
  readonly key: number;
}

export interface AllocationPool {
  readonly start: string;
  readonly end: string;
}

export interface HostRoute {
  readonly destination: string;
  readonly nexthop: string;
}

export interface SubnetRecord extends StandardRecord {
  readonly network_id: string;
  readonly ip_version: 4 | 6;
  /** Canonical network address, e.g. `10.0.0.0/24`, `2001:db8::/64`. */
  readonly cidr: string;
  readonly gateway_ip: string | null;
  readonly allocation_pools: readonly AllocationPool[];
  readonly enable_dhcp: boolean;
  readonly dns_nameservers: readonly string[];
  readonly host_routes: readonly HostRoute[];
  readonly ipv6_ra_mode: string | null;
  readonly ipv6_address_mode: string | null;
  /** The subnet pool the cidr was allocated from (`/nb/subnetpools/<id>`), or null. */
  readonly subnetpool_id: string | null;
}

/**
 * `/nb/subnetpools/<id>`: address space subnets are allocated from (by prefix length or by a
 * cidr inside it). Subnets allocated from a pool carry its id in `subnetpool_id`.
 */
export interface SubnetPoolRecord extends StandardRecord {
  readonly ip_version: 4 | 6;
  /** Canonical CIDRs, merged (netaddr.cidr_merge) and in address order. */
  readonly prefixes: readonly string[];
  readonly default_prefixlen: number;
  readonly min_prefixlen: number;
  readonly max_prefixlen: number;
  /** Addresses (IPv4) or /64s (IPv6) each project may allocate from the pool; null = no limit. */
  readonly default_quota: number | null;
  readonly shared: boolean;
  /** The pool `use_default_subnetpool` allocates from for its IP version (one per version). */
  readonly is_default: boolean;
  readonly address_scope_id: string | null;
}

export interface FixedIp {
  readonly subnet_id: string;
  readonly ip_address: string;
}

export interface AllowedAddressPair {
  readonly ip_address: string;
  readonly mac_address: string;
}

export interface ExtraDhcpOpt {
  readonly opt_name: string;
  readonly opt_value: string;
  readonly ip_version: 4 | 6;
}

export type PortStatus = 'ACTIVE' | 'DOWN' | 'BUILD' | 'ERROR';

export interface PortRecord extends StandardRecord {
  readonly network_id: string;
  readonly admin_state_up: boolean;
  /** DOWN until a controller binds the port and sets ACTIVE. */
  readonly status: PortStatus;
  /** Lower case `aa:bb:cc:dd:ee:ff`, unique per network. */
  readonly mac_address: string;
  readonly fixed_ips: readonly FixedIp[];
  readonly device_id: string;
  readonly device_owner: string;
  readonly allowed_address_pairs: readonly AllowedAddressPair[];
  readonly extra_dhcp_opts: readonly ExtraDhcpOpt[];
  readonly security_groups: readonly string[];
  readonly port_security_enabled: boolean;
  /** Chassis (hypervisor host name) the port is bound to; '' when unbound. */
  readonly 'binding:host_id': string;
  /** 'unbound' until a host is set, then 'ovs'. */
  readonly 'binding:vif_type': string;
  readonly 'binding:vif_details': Readonly<Record<string, unknown>>;
  readonly 'binding:vnic_type': string;
  readonly 'binding:profile': Readonly<Record<string, unknown>>;
  /** Internal: small integer OpenFlow key of the port (global, unique, >= 1). */
  readonly key: number;
}

// ---- L3 and security groups ----------------------------------------------------------------

/** device_owner of a router's interface port (one per attached subnet; device_id = router id). */
export const DEVICE_OWNER_ROUTER_INTERFACE = 'network:router_interface_distributed';
/** Also accepted as a router interface (ports attached by other tools with Neutron's legacy owner). */
export const DEVICE_OWNER_ROUTER_INTERFACE_LEGACY = 'network:router_interface';
/** device_owner of a router's port on its external network (device_id = router id). */
export const DEVICE_OWNER_ROUTER_GATEWAY = 'network:router_gateway';
/** device_owner of the port holding a floating IP's address (device_id = floating IP id). */
export const DEVICE_OWNER_FLOATINGIP = 'network:floatingip';

export interface ExternalFixedIp {
  readonly subnet_id: string;
  readonly ip_address: string;
}

export interface ExternalGatewayInfo {
  /** The router:external network. */
  readonly network_id: string;
  readonly enable_snat: boolean;
  /** Addresses of the gateway port (same as its fixed_ips). */
  readonly external_fixed_ips: readonly ExternalFixedIp[];
}

/**
 * `/nb/routers/<id>`. The router's interfaces are not stored here: they are the ports with
 * `device_id` = router id and `device_owner` = DEVICE_OWNER_ROUTER_INTERFACE (each with one fixed
 * IP: the router's address on that subnet; its MAC is the router's MAC there). The gateway port
 * is the port `gw_port_id` (device_owner DEVICE_OWNER_ROUTER_GATEWAY). Every interface change
 * rewrites this record (revision_number bumped), so a watcher sees the router change too.
 */
export interface RouterRecord extends StandardRecord {
  readonly admin_state_up: boolean;
  readonly status: 'ACTIVE' | 'DOWN' | 'ERROR';
  /** Always true: Wyvern routes on every chassis. */
  readonly distributed: boolean;
  readonly external_gateway_info: ExternalGatewayInfo | null;
  /** Extra routes; every nexthop lies in a subnet of one of the router's ports. */
  readonly routes: readonly HostRoute[];
  /** Internal: the gateway port id, null without a gateway. */
  readonly gw_port_id: string | null;
  /** Internal: small integer OpenFlow key of the router (unique, >= 1). */
  readonly key: number;
}

/**
 * `/nb/floatingips/<id>`. The address is held by the internal port `floating_port_id` on the
 * floating network (device_owner DEVICE_OWNER_FLOATINGIP, device_id = floating IP id).
 * Associated when `port_id` is set: then `fixed_ip_address` is one of that port's addresses and
 * `router_id` the router joining the port's subnet to `floating_network_id`.
 */
export interface FloatingIpRecord extends StandardRecord {
  readonly floating_network_id: string;
  readonly floating_ip_address: string;
  /** The external subnet the address comes from. */
  readonly subnet_id: string;
  readonly port_id: string | null;
  readonly fixed_ip_address: string | null;
  readonly router_id: string | null;
  /** DOWN until a controller has programmed the NAT and sets ACTIVE; DOWN again on re-association. */
  readonly status: 'ACTIVE' | 'DOWN' | 'ERROR';
  /** Internal: the port holding floating_ip_address. */
  readonly floating_port_id: string;
  /** Internal: that port's key, the owner key of the floating IP's flows (0 = unknown). */
  readonly key: number;
}

/** `/nb/security-groups/<id>`. Rules are separate records (`/nb/security-group-rules/<id>`). */
export interface SecurityGroupRecord extends StandardRecord {
  readonly stateful: boolean;
  /** Internal: small integer OpenFlow key of the group (conjunction ids, remote-group sets), >= 1. */
  readonly key: number;
}

/** `/nb/security-group-rules/<id>`. */
export interface SecurityGroupRuleRecord extends StandardRecord {
  readonly security_group_id: string;
  readonly direction: 'ingress' | 'egress';
  readonly ethertype: 'IPv4' | 'IPv6';
  /**
   * Lower case name (`tcp`, `udp`, `icmp`, `icmpv6`, ...) or a decimal number as text, as given;
   * null = any. `protocol_number` is the same as a number.
   */
  readonly protocol: string | null;
  /** Internal: IP protocol number (null = any). ICMPv6 is 58. */
  readonly protocol_number: number | null;
  /** tcp/udp/sctp/dccp/udplite: first port; icmp/icmpv6: ICMP type. */
  readonly port_range_min: number | null;
  /** tcp/udp/...: last port; icmp/icmpv6: ICMP code. */
  readonly port_range_max: number | null;
  /** Canonical network CIDR of the peer, null = any (or see remote_group_id). */
  readonly remote_ip_prefix: string | null;
  /** Peer = every port in that group (with this rule's ethertype), null = not used. */
  readonly remote_group_id: string | null;
  readonly remote_address_group_id: null;
  /** Internal: small integer OpenFlow key of the rule (its conjunction id and cookie), >= 1. */
  readonly key: number;
}
