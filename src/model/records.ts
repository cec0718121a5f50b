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
  readonly subnetpool_id: null;
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
