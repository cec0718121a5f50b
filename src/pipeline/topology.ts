/**
 * The part of the north-bound model one chassis needs, as the flow compilers see it: a plain,
 * readonly snapshot. The controller's cache builds it from the store (only networks that have a
 * port bound to this chassis, and everything those networks reach); compilers are pure functions
 * of it. Runtime facts that come from the switch (ofports) are merged in by the controller.
 */

export type Encap = 'geneve' | 'vxlan';

export interface ChassisInfo {
  readonly name: string;
  readonly tunnelIp: string;
  readonly encap: readonly Encap[];
  readonly gateway?: boolean;
  /**
   * The chassis' own MAC on external networks (model/chassis.ts `chassisMac`): the floating IPs
   * of its VMs answer ARP with it, so the outside's neighbour entry names the chassis.
   */
  readonly mac?: string;
}

export interface NetworkInfo {
  readonly id: string;
  readonly name: string;
  /** Small integer, unique in the cloud: OpenFlow metadata and the tunnel's network key. */
  readonly key: number;
  readonly adminStateUp: boolean;
  readonly mtu: number;
  readonly networkType: 'geneve' | 'vxlan' | 'vlan' | 'flat';
  readonly segmentationId?: number;
  readonly physicalNetwork?: string;
  readonly external: boolean;
}

export interface HostRoute {
  readonly destination: string;
  readonly nexthop: string;
}

export interface SubnetInfo {
  readonly id: string;
  readonly name: string;
  readonly networkId: string;
  readonly ipVersion: 4 | 6;
  readonly cidr: string;
  readonly gatewayIp: string | null;
  readonly enableDhcp: boolean;
  readonly dnsNameservers: readonly string[];
  readonly hostRoutes: readonly HostRoute[];
}

export interface FixedIp {
  readonly subnetId: string;
  readonly ipAddress: string;
}

export interface AddressPair {
  readonly ipAddress: string;
  readonly macAddress: string;
}

export interface PortInfo {
  readonly id: string;
  readonly name: string;
  /** Small integer, unique in the cloud: the logical port key carried in registers and tunnels. */
  readonly key: number;
  readonly networkId: string;
  readonly macAddress: string;
  readonly fixedIps: readonly FixedIp[];
  readonly adminStateUp: boolean;
  readonly portSecurityEnabled: boolean;
  readonly allowedAddressPairs: readonly AddressPair[];
  readonly deviceOwner: string;
  readonly deviceId: string;
  /** Chassis the port is bound to (binding:host_id), if any. */
  readonly chassis?: string;
  readonly extraDhcpOpts: readonly { readonly optName: string; readonly optValue: string }[];
  /** Security group ids (enforced when `portSecurityEnabled`; see compile/acl.ts). */
  readonly securityGroups: readonly string[];
}

/**
 * A security group rule (SecurityGroupRuleRecord) as the ACL compiler sees it. Rules only allow:
 * a packet passes a port's filter when a rule of one of its groups matches it.
 */
export interface SecurityRuleInfo {
  readonly id: string;
  /** Small integer, unique in the cloud: the rule's conjunction id and cookie key. */
  readonly key: number;
  readonly groupId: string;
  readonly direction: 'ingress' | 'egress';
  readonly ethertype: 4 | 6;
  /** IP protocol number (ICMP on an IPv6 rule is 58), null = any. */
  readonly protocol: number | null;
  /** Port-based protocols: first/last port; ICMP: type/code (null = any). */
  readonly portMin: number | null;
  readonly portMax: number | null;
  /** The peer's prefix (canonical CIDR), null = any (or see remoteGroupId). */
  readonly remoteIpPrefix: string | null;
  /** The peer is any address of a member port of this group. */
  readonly remoteGroupId: string | null;
}

export interface SecurityGroupInfo {
  readonly id: string;
  readonly name: string;
  readonly key: number;
  /** Connections tracked (replies pass without a rule); false: every packet needs a rule. */
  readonly stateful: boolean;
  /** Its rules, by key. */
  readonly rules: readonly SecurityRuleInfo[];
}

/**
 * A router (RouterRecord) as the L3 compiler sees it. Its interfaces are ports of the topology
 * (device_owner `network:router_interface_distributed` or `network:router_interface`, device_id =
 * router id), each with one fixed IP (the router's address on that subnet) and its MAC (the
 * router's MAC on that network).
 */
export interface RouterInfo {
  readonly id: string;
  readonly name: string;
  /** Small integer, unique in the cloud (RouterRecord.key, >= 1): carried in reg13 and the cookie. */
  readonly key: number;
  readonly adminStateUp: boolean;
  /** Extra routes (RouterRecord.routes); IPv6 entries are ignored by the compiler. */
  readonly routes: readonly HostRoute[];
  /** Port ids of the router's interface ports (sorted); each must also be in `ports`. */
  readonly interfaces: readonly string[];
  /** The router's gateway on an external network (external_gateway_info), if set. */
  readonly gateway?: RouterGatewayInfo;
}

/** A router's external gateway: its port (on the external network) and whether it SNATs. */
export interface RouterGatewayInfo {
  /** The gateway port (device_owner network:router_gateway); its chassis hosts the gateway. */
  readonly portId: string;
  readonly networkId: string;
  /** Traffic of VMs without a floating IP leaves with the gateway's address (false: routed as is). */
  readonly enableSnat: boolean;
}

/**
 * An associated floating IP (FloatingIpRecord with a port) as the NAT compiler sees it. Its
 * translation happens on the chassis of the VM port that holds `fixedIp`.
 */
export interface FloatingIpInfo {
  readonly id: string;
  /** The key of the port holding the floating address: the owner key of its flows (`floatingip:<key>`). */
  readonly key: number;
  readonly address: string;
  readonly networkId: string;
  readonly portId: string;
  readonly fixedIp: string;
  readonly routerId: string;
}

/** Conntrack zones of a router's NAT on this chassis (allocated by the controller). */
export interface RouterZones {
  readonly snat: number;
  readonly dnat: number;
}

/** L3 mode of this chassis (`--l3-mode`): per-destination flows ahead of time, or on first packet. */
export type L3Mode = 'proactive' | 'reactive';

/** A port bound here with its OpenFlow port number on br-int. */
export interface LocalBinding {
  readonly portId: string;
  readonly ofport: number;
  /** The port's conntrack zone (1..65535), allocated by the controller and kept in OVSDB. */
  readonly ctZone?: number;
}

export interface LocalTopology {
  /** This chassis. */
  readonly chassis: ChassisInfo;
  /** Every live chassis that holds a port of a network we hold, by name. */
  readonly remoteChassis: ReadonlyMap<string, ChassisInfo>;
  readonly networks: ReadonlyMap<string, NetworkInfo>;
  readonly subnets: ReadonlyMap<string, SubnetInfo>;
  /** Local and remote ports of the networks we hold. */
  readonly ports: ReadonlyMap<string, PortInfo>;
  /** Ports bound on this chassis that OVS has given an ofport, by port id. */
  readonly local: ReadonlyMap<string, LocalBinding>;
  /** br-int's ofport of the flow-based tunnel port per encapsulation. */
  readonly tunnelOfport: Partial<Record<Encap, number>>;
  /**
   * Routers attached (by an interface port) to a network we hold, by router id; absent = none.
   * When a network we hold has a router interface, the cache adds that router, every network
   * and subnet attached to it, all their ports, and the remote chassis those ports are bound to.
   * Records are replaced, never mutated (the compilers compare them by identity).
   */
  readonly routers?: ReadonlyMap<string, RouterInfo>;
  /** Absent = 'proactive'. */
  readonly l3Mode?: L3Mode;
  /** Security groups of the local ports, with their rules, by id; absent = none. */
  readonly securityGroups?: ReadonlyMap<string, SecurityGroupInfo>;
  /**
   * The member ports (on any network or chassis) of every group a rule of `securityGroups` names
   * as its remote group, by port key.
   */
  readonly groupMembers?: ReadonlyMap<number, GroupMemberInfo>;
  /**
   * Physical networks this chassis reaches (`--bridge-mappings`): physnet → ofport on br-int of
   * the patch port to its bridge. Flat and VLAN networks on them are switched through it.
   */
  readonly localnets?: ReadonlyMap<string, number>;
  /** Associated floating IPs of the ports bound here, by id. */
  readonly floatingIps?: ReadonlyMap<string, FloatingIpInfo>;
  /** NAT conntrack zones per router id (routers that translate here). */
  readonly routerZones?: ReadonlyMap<string, RouterZones>;
  /**
   * Neighbours learned on external networks (ARP), per network id: IPv4 → MAC. The router's
   * next hops there (the upstream gateway, other floating IPs) resolve through them.
   */
  readonly neighbours?: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** A member of remote groups: the groups, and its addresses. */
export interface GroupMemberInfo {
  /** The port's key (its owner `sg_member:<key>`). */
  readonly key: number;
  readonly portId: string;
  /** The remote groups (named by rules here) it is a member of, sorted. */
  readonly groups: readonly string[];
  /** Its fixed IPs and allowed address pairs (IPs or CIDRs), sorted, unique. */
  readonly addresses: readonly string[];
}
