/**
 * A small cloud as the local controller of hv1 sees it:
 *   chassis hv1 (local, 192.168.0.1), hv2 (192.168.0.2), hv3 (192.168.0.3)
 *   blue  (key 1) 10.1.0.0/24, DHCP on : b1 (hv1, ofport 1), b2 (hv1, ofport 2), b3 (hv2), b4 + b5 (hv3)
 *   red   (key 2) 10.1.0.0/24, DHCP off: r1 (hv1, ofport 3, same IP as b1), r2 (hv2)
 *   green (key 3) 10.3.0.0/24          : g1 (hv2), g2 (hv3) — no local port
 * Records are replaced (never mutated) on change, as the controller's cache does.
 * Routers (none in the standard cloud): `addRouter`, `attach` (an interface port on a subnet),
 * `detach`; `viewAs(name)` is the same cloud as another chassis' controller sees it.
 */
import type {
  ChassisInfo,
  Encap,
  FloatingIpInfo,
  RouterZones,
  L3Mode,
  LocalBinding,
  LocalTopology,
  NetworkInfo,
  PortInfo,
  GroupMemberInfo,
  RouterInfo,
  SecurityGroupInfo,
  SecurityRuleInfo,
  SubnetInfo,
} from '../../../src/pipeline/topology.js';

export const GENEVE_OFPORT = 100;
export const VXLAN_OFPORT = 101;

export function mac(key: number): string {
  const h = (n: number): string => n.toString(16).padStart(2, '0');
  return `fa:16:3e:00:${h((key >> 8) & 0xff)}:${h(key & 0xff)}`;
}

export const ROUTER_INTERFACE = 'network:router_interface_distributed';

export function router(id: string, key: number, extra: Partial<RouterInfo> = {}): RouterInfo {
  return { id, name: id, key, adminStateUp: true, routes: [], interfaces: [], ...extra };
}

export function network(id: string, key: number, extra: Partial<NetworkInfo> = {}): NetworkInfo {
  return { id, name: id, key, adminStateUp: true, mtu: 1442, networkType: 'geneve', external: false, ...extra };
}

export function subnet(id: string, networkId: string, cidr: string, enableDhcp: boolean): SubnetInfo {
  return {
    id,
    name: id,
    networkId,
    ipVersion: 4,
    cidr,
    gatewayIp: cidr.replace(/0\/\d+$/, '1'),
    enableDhcp,
    dnsNameservers: [],
    hostRoutes: [],
  };
}

/** A security group rule with Neutron's defaults (any protocol, any peer); `key` is its conj id. */
export function rule(groupId: string, key: number, direction: 'ingress' | 'egress', extra: Partial<SecurityRuleInfo> = {}): SecurityRuleInfo {
  return {
    id: `${groupId}-r${key}`,
    key,
    groupId,
    direction,
    ethertype: 4,
    protocol: null,
    portMin: null,
    portMax: null,
    remoteIpPrefix: null,
    remoteGroupId: null,
    ...extra,
  };
}

export function group(id: string, key: number, rules: readonly SecurityRuleInfo[], stateful = true): SecurityGroupInfo {
  return { id, name: id, key, stateful, rules: [...rules].sort((a, b) => a.key - b.key) };
}

/**
 * The group every fixture port is in unless a test says otherwise: stateless, everything allowed
 * both ways (its rules compile onto the port: no conntrack, no conjunction), so the L2/L3 tests
 * see their traffic pass the security group stages.
 */
export const OPEN_GROUP = group(
  'open',
  900,
  [
    rule('open', 9001, 'egress'),
    rule('open', 9002, 'egress', { ethertype: 6 }),
    rule('open', 9003, 'ingress'),
    rule('open', 9004, 'ingress', { ethertype: 6 }),
  ],
  false,
);

export function port(id: string, key: number, networkId: string, subnetId: string, ip: string, chassis?: string, extra: Partial<PortInfo> = {}): PortInfo {
  return {
    id,
    name: id,
    key,
    networkId,
    macAddress: mac(key),
    fixedIps: [{ subnetId, ipAddress: ip }],
    adminStateUp: true,
    portSecurityEnabled: true,
    allowedAddressPairs: [],
    deviceOwner: 'compute:nova',
    deviceId: `vm-${id}`,
    chassis,
    extraDhcpOpts: [],
    securityGroups: [OPEN_GROUP.id],
    ...extra,
  };
}

export class World {
  chassis: ChassisInfo = { name: 'hv1', tunnelIp: '192.168.0.1', encap: ['geneve'] };
  remoteChassis = new Map<string, ChassisInfo>([
    ['hv2', { name: 'hv2', tunnelIp: '192.168.0.2', encap: ['geneve', 'vxlan'] }],
    ['hv3', { name: 'hv3', tunnelIp: '192.168.0.3', encap: ['geneve', 'vxlan'] }],
  ]);
  networks = new Map<string, NetworkInfo>();
  subnets = new Map<string, SubnetInfo>();
  ports = new Map<string, PortInfo>();
  local = new Map<string, LocalBinding>();
  tunnelOfport: Partial<Record<Encap, number>> = { geneve: GENEVE_OFPORT };
  routers = new Map<string, RouterInfo>();
  l3Mode: L3Mode = 'proactive';
  /** physnet → patch port ofport here. */
  localnets = new Map<string, number>();
  /** Floating IPs of the cloud, by id (the snapshot keeps those of local ports). */
  floatingIps = new Map<string, FloatingIpInfo>();
  routerZones = new Map<string, RouterZones>();
  neighbours = new Map<string, ReadonlyMap<string, string>>();
  /** Every security group of the cloud, by id (the snapshot keeps those of local ports). */
  groups = new Map<string, SecurityGroupInfo>([[OPEN_GROUP.id, OPEN_GROUP]]);

  static standard(encap: Encap = 'geneve'): World {
    const w = new World();
    if (encap === 'vxlan') {
      w.chassis = { ...w.chassis, encap: ['vxlan'] };
      w.tunnelOfport = { vxlan: VXLAN_OFPORT };
    }
    w.addNetwork(network('blue', 1));
    w.addNetwork(network('red', 2));
    w.addNetwork(network('green', 3));
    w.addSubnet(subnet('blue-v4', 'blue', '10.1.0.0/24', true));
    w.addSubnet(subnet('red-v4', 'red', '10.1.0.0/24', false));
    w.addSubnet(subnet('green-v4', 'green', '10.3.0.0/24', true));
    w.addPort(port('b1', 11, 'blue', 'blue-v4', '10.1.0.11', 'hv1'), 1);
    w.addPort(port('b2', 12, 'blue', 'blue-v4', '10.1.0.12', 'hv1'), 2);
    w.addPort(port('b3', 13, 'blue', 'blue-v4', '10.1.0.13', 'hv2'));
    w.addPort(port('b4', 14, 'blue', 'blue-v4', '10.1.0.14', 'hv3'));
    w.addPort(port('b5', 15, 'blue', 'blue-v4', '10.1.0.15', 'hv3'));
    w.addPort(port('r1', 21, 'red', 'red-v4', '10.1.0.11', 'hv1'), 3);
    w.addPort(port('r2', 22, 'red', 'red-v4', '10.1.0.22', 'hv2'));
    w.addPort(port('g1', 31, 'green', 'green-v4', '10.3.0.31', 'hv2'));
    w.addPort(port('g2', 32, 'green', 'green-v4', '10.3.0.32', 'hv3'));
    return w;
  }

  addNetwork(n: NetworkInfo): void {
    this.networks.set(n.id, n);
  }
  addSubnet(s: SubnetInfo): void {
    this.subnets.set(s.id, s);
  }
  addPort(p: PortInfo, ofport?: number): void {
    this.ports.set(p.id, p);
    if (ofport !== undefined) this.local.set(p.id, { portId: p.id, ofport });
    else this.local.delete(p.id);
  }
  updatePort(id: string, change: Partial<PortInfo>): void {
    const p = this.ports.get(id);
    if (!p) throw new Error(`no port ${id}`);
    this.ports.set(id, { ...p, ...change });
  }
  updateNetwork(id: string, change: Partial<NetworkInfo>): void {
    const n = this.networks.get(id);
    if (!n) throw new Error(`no network ${id}`);
    this.networks.set(id, { ...n, ...change });
  }
  updateSubnet(id: string, change: Partial<SubnetInfo>): void {
    const s = this.subnets.get(id);
    if (!s) throw new Error(`no subnet ${id}`);
    this.subnets.set(id, { ...s, ...change });
  }
  removePort(id: string): void {
    this.ports.delete(id);
    this.local.delete(id);
  }
  addRouter(r: RouterInfo): void {
    this.routers.set(r.id, r);
  }
  updateRouter(id: string, change: Partial<RouterInfo>): void {
    const r = this.routers.get(id);
    if (!r) throw new Error(`no router ${id}`);
    this.routers.set(id, { ...r, ...change });
  }
  /** Adds a router interface port `<router>-<subnet>` (key `key`, MAC mac(key)) with address `ip`. */
  attach(routerId: string, subnetId: string, ip: string, key: number): PortInfo {
    const s = this.subnets.get(subnetId);
    const r = this.routers.get(routerId);
    if (!s || !r) throw new Error(`no subnet ${subnetId} or router ${routerId}`);
    const p = port(`${routerId}-${subnetId}`, key, s.networkId, subnetId, ip, undefined, {
      deviceOwner: ROUTER_INTERFACE,
      deviceId: routerId,
      portSecurityEnabled: false,
      securityGroups: [],
    });
    this.addPort(p);
    this.updateRouter(routerId, { interfaces: [...new Set([...r.interfaces, p.id])].sort() });
    return p;
  }
  detach(routerId: string, subnetId: string): void {
    const id = `${routerId}-${subnetId}`;
    this.removePort(id);
    const r = this.routers.get(routerId);
    if (r) this.updateRouter(routerId, { interfaces: r.interfaces.filter((x) => x !== id) });
  }
  /** The same cloud seen by chassis `name`: its ports bound at ofport 200 + key, the others remote. */
  viewAs(name: string): World {
    const w = new World();
    const all = new Map<string, ChassisInfo>([[this.chassis.name, this.chassis], ...this.remoteChassis]);
    const me = all.get(name);
    if (!me) throw new Error(`no chassis ${name}`);
    w.chassis = me.name === this.chassis.name ? me : { ...me, encap: this.chassis.encap };
    w.remoteChassis = new Map([...all].filter(([n]) => n !== name));
    w.networks = new Map(this.networks);
    w.subnets = new Map(this.subnets);
    w.routers = new Map(this.routers);
    w.groups = new Map(this.groups);
    w.l3Mode = this.l3Mode;
    w.tunnelOfport = { ...this.tunnelOfport };
    w.localnets = new Map(this.localnets);
    w.floatingIps = new Map(this.floatingIps);
    w.routerZones = new Map(this.routerZones);
    w.neighbours = new Map(this.neighbours);
    for (const p of this.ports.values()) w.addPort(p, p.chassis === name ? 200 + p.key : undefined);
    return w;
  }
  port(id: string): PortInfo {
    const p = this.ports.get(id);
    if (!p) throw new Error(`no port ${id}`);
    return p;
  }

  setGroup(g: SecurityGroupInfo): void {
    this.groups.set(g.id, g);
  }
  removeGroup(id: string): void {
    this.groups.delete(id);
  }

  private readonly memberInfos = new Map<number, GroupMemberInfo>();
  /** The same object while the member's groups and addresses are the same (as the cache keeps them). */
  private memberInfo(p: PortInfo, groups: string[]): GroupMemberInfo {
    const addresses = [...new Set([...p.fixedIps.map((f) => f.ipAddress), ...p.allowedAddressPairs.map((a) => a.ipAddress)])].sort();
    const hit = this.memberInfos.get(p.key);
    if (hit && hit.portId === p.id && hit.groups.join() === groups.join() && hit.addresses.join() === addresses.join()) return hit;
    const info = { key: p.key, portId: p.id, groups, addresses };
    this.memberInfos.set(p.key, info);
    return info;
  }

  /** Groups of the local ports, and the members of the remote groups their rules name (as the cache builds them). */
  private security(): { securityGroups: Map<string, SecurityGroupInfo>; groupMembers: Map<number, GroupMemberInfo> } {
    const securityGroups = new Map<string, SecurityGroupInfo>();
    for (const id of this.local.keys()) {
      for (const gid of this.ports.get(id)?.securityGroups ?? []) {
        const g = this.groups.get(gid);
        if (g) securityGroups.set(gid, g);
      }
    }
    const remoteIds = new Set<string>();
    for (const g of securityGroups.values()) for (const r of g.rules) if (r.remoteGroupId !== null && this.groups.has(r.remoteGroupId)) remoteIds.add(r.remoteGroupId);
    const groupMembers = new Map<number, GroupMemberInfo>();
    for (const p of this.ports.values()) {
      const groups = p.securityGroups.filter((g) => remoteIds.has(g)).sort();
      if (groups.length > 0) groupMembers.set(p.key, this.memberInfo(p, groups));
    }
    return { securityGroups, groupMembers };
  }

  snapshot(): LocalTopology {
    return {
      ...this.security(),
      chassis: this.chassis,
      remoteChassis: new Map(this.remoteChassis),
      networks: new Map(this.networks),
      subnets: new Map(this.subnets),
      ports: new Map(this.ports),
      local: new Map(this.local),
      tunnelOfport: { ...this.tunnelOfport },
      routers: new Map(this.routers),
      l3Mode: this.l3Mode,
      localnets: new Map(this.localnets),
      floatingIps: new Map([...this.floatingIps].filter(([, f]) => this.local.has(f.portId))),
      routerZones: new Map(this.routerZones),
      neighbours: new Map(this.neighbours),
    };
  }
}

/** Router key of r1 in `l3World`. */
export const R1 = 7;

/**
 * The standard world plus network yellow (10.5.0.0/24: y1 on hv1, y2 on hv2) and router r1 on
 * blue (10.1.0.1), green (10.3.0.1) and yellow (10.5.0.1).
 */
export function l3World(): World {
  const w = World.standard();
  w.addNetwork(network('yellow', 5));
  w.addSubnet(subnet('yellow-v4', 'yellow', '10.5.0.0/24', true));
  w.addPort(port('y1', 51, 'yellow', 'yellow-v4', '10.5.0.51', 'hv1'), 5);
  w.addPort(port('y2', 52, 'yellow', 'yellow-v4', '10.5.0.52', 'hv2'));
  w.addRouter(router('r1', R1));
  w.attach('r1', 'blue-v4', '10.1.0.1', 91);
  w.attach('r1', 'green-v4', '10.3.0.1', 93);
  w.attach('r1', 'yellow-v4', '10.5.0.1', 95);
  return w;
}

/** Key of the external network in `natWorld`, its patch port, and the upstream router's MAC. */
export const EXT = 9;
export const PATCH_OFPORT = 50;
export const UPSTREAM_MAC = '02:00:00:00:00:01';
export const HV1_MAC = '0a:57:00:00:00:01';
export const GW_PORT_KEY = 99;

/**
 * `l3World` plus the external network public (key 9, flat on physnet public, 203.0.113.0/24,
 * gateway 203.0.113.1 known at UPSTREAM_MAC), r1's gateway port (203.0.113.5, key 99) hosted on
 * `gatewayChassis`, a floating IP 203.0.113.50 (key 98) for b1 (10.1.0.11), every chassis
 * mapping public to ofport 50, and r1's NAT zones 65535/65534.
 */
export function natWorld(gatewayChassis = 'hv2'): World {
  const w = l3World();
  w.chassis = { ...w.chassis, mac: HV1_MAC };
  w.remoteChassis = new Map([...w.remoteChassis].map(([n, c]) => [n, { ...c, mac: `0a:57:00:00:00:0${n.slice(2)}` }]));
  w.addNetwork(network('public', EXT, { networkType: 'flat', physicalNetwork: 'public', external: true }));
  w.addSubnet({ ...subnet('public-v4', 'public', '203.0.113.0/24', false), gatewayIp: '203.0.113.1' });
  w.addPort(
    port('gw', GW_PORT_KEY, 'public', 'public-v4', '203.0.113.5', gatewayChassis, {
      deviceOwner: 'network:router_gateway',
      deviceId: 'r1',
      portSecurityEnabled: false,
      securityGroups: [],
    }),
  );
  w.updateRouter('r1', { gateway: { portId: 'gw', networkId: 'public', enableSnat: true } });
  w.localnets.set('public', PATCH_OFPORT);
  w.routerZones.set('r1', { snat: 65535, dnat: 65534 });
  w.neighbours.set('public', new Map([['203.0.113.1', UPSTREAM_MAC]]));
  w.floatingIps.set('fip1', { id: 'fip1', key: 98, address: '203.0.113.50', networkId: 'public', portId: 'b1', fixedIp: '10.1.0.11', routerId: 'r1' });
  return w;
}
