/**
 * A synthetic cloud for the L3 compile benchmark (built the way test/unit/pipeline/fixture.ts
 * builds its World): one distributed router, `subnets` networks of one IPv4 /24 each with a
 * router interface at .1, `ports` VM ports spread round-robin over the networks and over
 * `chassis` chassis (hv1..hvN). `viewAs(name)` gives the LocalTopology of that chassis'
 * controller (its ports bound at ofport = port key, the tunnel port at 1). Records are replaced,
 * never mutated, as the controller's cache does.
 */
import type {
  ChassisInfo,
  L3Mode,
  LocalBinding,
  LocalTopology,
  NetworkInfo,
  PortInfo,
  RouterInfo,
  SecurityGroupInfo,
  SubnetInfo,
} from '../../src/pipeline/topology.js';

/**
 * Every VM port is in one stateless group that allows everything (its four rules compile onto
 * the port: no conntrack, no conjunction), so the benchmark measures L2/L3 compile work.
 */
export const L3B_OPEN_GROUP: SecurityGroupInfo = {
  id: 'open',
  name: 'open',
  key: 1,
  stateful: false,
  rules: (['egress', 'ingress'] as const).flatMap((direction, d) =>
    ([4, 6] as const).map((ethertype, e) => ({
      id: `open-${direction}-${ethertype}`,
      key: 1 + d * 2 + e,
      groupId: 'open',
      direction,
      ethertype,
      protocol: null,
      portMin: null,
      portMax: null,
      remoteIpPrefix: null,
      remoteGroupId: null,
    })),
  ),
};

export const L3B_ROUTER_INTERFACE = 'network:router_interface_distributed';
export const L3B_TUNNEL_OFPORT = 1;

function macOfKey(key: number): string {
  const h = (n: number): string => n.toString(16).padStart(2, '0');
  return `fa:16:3e:${h((key >> 16) & 0xff)}:${h((key >> 8) & 0xff)}:${h(key & 0xff)}`;
}

export interface L3CloudSpec {
  readonly subnets: number;
  readonly ports: number;
  readonly chassis: number;
  readonly l3Mode: L3Mode;
}

export class L3Cloud {
  readonly chassis = new Map<string, ChassisInfo>();
  readonly networks = new Map<string, NetworkInfo>();
  readonly subnets = new Map<string, SubnetInfo>();
  readonly ports = new Map<string, PortInfo>();
  readonly routers = new Map<string, RouterInfo>();
  l3Mode: L3Mode;

  constructor(spec: L3CloudSpec) {
    this.l3Mode = spec.l3Mode;
    for (let c = 1; c <= spec.chassis; c++) {
      this.chassis.set(`hv${c}`, { name: `hv${c}`, tunnelIp: `192.168.${c >> 8}.${c & 255}`, encap: ['geneve'] });
    }
    const interfaces: string[] = [];
    for (let i = 0; i < spec.subnets; i++) {
      const net = `net${i}`;
      const sub = `sub${i}`;
      const cidr = `10.${100 + (i >> 8)}.${i & 255}.0/24`;
      const prefix = cidr.slice(0, cidr.lastIndexOf('.'));
      this.networks.set(net, { id: net, name: net, key: i + 1, adminStateUp: true, mtu: 1442, networkType: 'geneve', external: false });
      this.subnets.set(sub, {
        id: sub,
        name: sub,
        networkId: net,
        ipVersion: 4,
        cidr,
        gatewayIp: `${prefix}.1`,
        enableDhcp: true,
        dnsNameservers: [],
        hostRoutes: [],
      });
      const rif = `r1-${sub}`;
      this.ports.set(rif, this.mkPort(rif, 100_000 + i, net, sub, `${prefix}.1`, undefined, {
        deviceOwner: L3B_ROUTER_INTERFACE,
        deviceId: 'r1',
        portSecurityEnabled: false,
        securityGroups: [],
      }));
      interfaces.push(rif);
    }
    this.routers.set('r1', { id: 'r1', name: 'r1', key: 1, adminStateUp: true, routes: [], interfaces: interfaces.sort() });
    for (let j = 0; j < spec.ports; j++) {
      const i = j % spec.subnets;
      const host = Math.floor(j / spec.subnets); // index within the subnet
      const prefix = `10.${100 + (i >> 8)}.${i & 255}`;
      const ip = `${prefix}.${10 + (host % 240)}`;
      if (host >= 240) throw new Error('too many ports per /24 subnet');
      const chassis = `hv${(j % spec.chassis) + 1}`;
      this.ports.set(`p${j}`, this.mkPort(`p${j}`, 1000 + j, `net${i}`, `sub${i}`, ip, chassis));
    }
  }

  private mkPort(id: string, key: number, networkId: string, subnetId: string, ip: string, chassis: string | undefined, extra: Partial<PortInfo> = {}): PortInfo {
    return {
      id,
      name: id,
      key,
      networkId,
      macAddress: macOfKey(key),
      fixedIps: [{ subnetId, ipAddress: ip }],
      adminStateUp: true,
      portSecurityEnabled: true,
      allowedAddressPairs: [],
      deviceOwner: 'compute:nova',
      deviceId: `vm-${id}`,
      chassis,
      extraDhcpOpts: [],
      securityGroups: [L3B_OPEN_GROUP.id],
      ...extra,
    };
  }

  updatePort(id: string, change: Partial<PortInfo>): void {
    const p = this.ports.get(id);
    if (!p) throw new Error(`no port ${id}`);
    this.ports.set(id, { ...p, ...change });
  }

  /** Removes the router's interface on `subnetId` (its port and its entry in the router). */
  detach(subnetId: string): PortInfo {
    const id = `r1-${subnetId}`;
    const p = this.ports.get(id);
    const r = this.routers.get('r1');
    if (!p || !r) throw new Error(`no interface ${id}`);
    this.ports.delete(id);
    this.routers.set('r1', { ...r, interfaces: r.interfaces.filter((x) => x !== id) });
    return p;
  }

  /** Puts an interface port back (undoes `detach`). */
  attach(p: PortInfo): void {
    const r = this.routers.get('r1');
    if (!r) throw new Error('no router');
    this.ports.set(p.id, p);
    this.routers.set('r1', { ...r, interfaces: [...new Set([...r.interfaces, p.id])].sort() });
  }

  /** The LocalTopology the controller of chassis `name` compiles (every network is reachable through the router). */
  viewAs(name: string): LocalTopology {
    const me = this.chassis.get(name);
    if (!me) throw new Error(`no chassis ${name}`);
    const local = new Map<string, LocalBinding>();
    const used = new Set<string>();
    for (const p of this.ports.values()) {
      if (p.chassis === name) local.set(p.id, { portId: p.id, ofport: p.key }); // stable across changes
      else if (p.chassis) used.add(p.chassis);
    }
    return {
      chassis: me,
      remoteChassis: new Map([...this.chassis].filter(([c]) => c !== name && used.has(c))),
      networks: new Map(this.networks),
      subnets: new Map(this.subnets),
      ports: new Map(this.ports),
      local,
      tunnelOfport: { geneve: L3B_TUNNEL_OFPORT },
      routers: new Map(this.routers),
      l3Mode: this.l3Mode,
      securityGroups: new Map([[L3B_OPEN_GROUP.id, L3B_OPEN_GROUP]]),
    };
  }
}
