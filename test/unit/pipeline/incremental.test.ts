/**
 * Incremental == from scratch (OVN's check after every test), reconciliation idempotence, and
 * "change then revert" restores the switch exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DesiredTable,
  InstalledTable,
  diff,
  diffTracked,
  fullCompile,
  updateDesired,
  type PipelineMessage,
} from '../../../src/pipeline/index.js';
import type { HostRoute, LocalTopology } from '../../../src/pipeline/topology.js';
import type { SecurityRuleInfo } from '../../../src/pipeline/topology.js';
import { World, group, network, port, router, rule, subnet } from './fixture.js';
import { newSwitchTable, switchFor } from './harness.js';

type Op =
  | { k: 'portAdmin'; id: string }
  | { k: 'netAdmin'; id: string }
  | { k: 'bindLocal'; id: string }
  | { k: 'bindRemote'; id: string; chassis: string }
  | { k: 'unbind'; id: string }
  | { k: 'portSec'; id: string }
  | { k: 'dhcp'; id: string }
  | { k: 'addPort'; id: string; net: string; where: 'local' | 'hv2' | 'hv3' | 'none' }
  | { k: 'removePort'; id: string }
  | { k: 'chassisIp'; name: string; ip: string }
  | { k: 'chassisGone'; name: string }
  | { k: 'pairs'; id: string; ip: string | null }
  | { k: 'mac'; id: string; n: number }
  | { k: 'addNetwork'; id: string; key: number }
  | { k: 'tunnelPort'; ofport: number }
  | { k: 'routerAdd'; id: RouterId }
  | { k: 'routerRemove'; id: RouterId }
  | { k: 'routerAdmin'; id: RouterId }
  | { k: 'attach'; id: RouterId; net: string }
  | { k: 'detach'; id: RouterId; net: string }
  | { k: 'routes'; id: RouterId; which: 0 | 1 | 2 }
  | { k: 'ifaceMac'; id: RouterId; net: string; n: number }
  | { k: 'ifaceAdmin'; id: RouterId; net: string }
  | { k: 'l3Mode' }
  | { k: 'groups'; id: string; which: number }
  | { k: 'rule'; group: 'web' | 'db'; which: number }
  | { k: 'stateful'; group: 'web' | 'db' }
  | { k: 'zone'; id: string; zone: number }
  | { k: 'extNet' }
  | { k: 'gateway'; host: 'hv1' | 'hv2' | 'none' | 'clear'; snat: boolean }
  | { k: 'fip'; id: string | null }
  | { k: 'localnet' }
  | { k: 'neighbour'; mac: string | null }
  | { k: 'routerZones'; snat: number }
  | { k: 'provider'; type: 'flat' | 'vlan' | 'geneve' };

/** Rules the random ops toggle in groups web and db (keys 500 + index). */
const RULES: ((g: string) => SecurityRuleInfo)[] = [
  (g) => rule(g, 500, 'ingress', { protocol: 6, portMin: 22, portMax: 22 }),
  (g) => rule(g, 501, 'ingress', { protocol: 1, portMin: 8 }),
  (g) => rule(g, 502, 'ingress', { protocol: 6, portMin: 1000, portMax: 2000, remoteGroupId: 'db' }),
  (g) => rule(g, 503, 'egress', { remoteIpPrefix: '10.3.0.0/24' }),
  (g) => rule(g, 504, 'ingress', { protocol: 17, portMin: 5000, portMax: 5001, remoteGroupId: 'web' }),
  (g) => rule(g, 505, 'egress'),
  (g) => rule(g, 506, 'ingress', { ethertype: 6, protocol: 58, remoteGroupId: 'db' }),
];
const GROUP_SETS: string[][] = [['open'], ['web'], ['web', 'db'], ['db'], []];

type RouterId = 'rA' | 'rB';
/** rA may attach blue, green, violet; rB red, green, violet (a router never gets overlapping subnets). */
const ROUTERS: Record<RouterId, { key: number; nets: Record<string, { key: number; ip: string }>; routes: HostRoute[][] }> = {
  rA: {
    key: 7,
    nets: { blue: { key: 71, ip: '10.1.0.1' }, green: { key: 73, ip: '10.3.0.1' }, violet: { key: 74, ip: '10.4.0.1' } },
    routes: [[], [{ destination: '172.16.0.0/16', nexthop: '10.1.0.13' }], [{ destination: '0.0.0.0/0', nexthop: '10.3.0.31' }, { destination: '172.16.3.0/24', nexthop: '10.3.0.32' }]],
  },
  rB: {
    key: 8,
    nets: { red: { key: 82, ip: '10.1.0.254' }, green: { key: 83, ip: '10.3.0.254' }, violet: { key: 84, ip: '10.4.0.254' } },
    routes: [[], [{ destination: '172.16.0.0/16', nexthop: '10.1.0.22' }], [{ destination: '0.0.0.0/0', nexthop: '10.3.0.32' }]],
  },
};
const routerArb = fc.constantFrom<RouterId>('rA', 'rB');

const PORT_IDS = ['b1', 'b2', 'b3', 'b4', 'b5', 'r1', 'r2', 'g1', 'g2', 'n1', 'n2', 'n3'];
const NETS = ['blue', 'red', 'green', 'violet'];
const SUBNET_OF: Record<string, string> = { blue: 'blue-v4', red: 'red-v4', green: 'green-v4', violet: 'violet-v4' };
const NEW_KEYS: Record<string, number> = { n1: 41, n2: 42, n3: 43 };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('portAdmin' as const), id: fc.constantFrom(...PORT_IDS) }),
  fc.record({ k: fc.constant('netAdmin' as const), id: fc.constantFrom(...NETS) }),
  fc.record({ k: fc.constant('bindLocal' as const), id: fc.constantFrom(...PORT_IDS) }),
  fc.record({ k: fc.constant('bindRemote' as const), id: fc.constantFrom(...PORT_IDS), chassis: fc.constantFrom('hv2', 'hv3', 'hv9') }),
  fc.record({ k: fc.constant('unbind' as const), id: fc.constantFrom(...PORT_IDS) }),
  fc.record({ k: fc.constant('portSec' as const), id: fc.constantFrom(...PORT_IDS) }),
  fc.record({ k: fc.constant('dhcp' as const), id: fc.constantFrom(...Object.values(SUBNET_OF)) }),
  fc.record({
    k: fc.constant('addPort' as const),
    id: fc.constantFrom('n1', 'n2', 'n3'),
    net: fc.constantFrom(...NETS),
    where: fc.constantFrom('local' as const, 'hv2' as const, 'hv3' as const, 'none' as const),
  }),
  fc.record({ k: fc.constant('removePort' as const), id: fc.constantFrom(...PORT_IDS) }),
  fc.record({ k: fc.constant('chassisIp' as const), name: fc.constantFrom('hv2', 'hv3'), ip: fc.constantFrom('192.168.1.2', '192.168.1.3') }),
  fc.record({ k: fc.constant('chassisGone' as const), name: fc.constantFrom('hv2', 'hv3') }),
  fc.record({ k: fc.constant('pairs' as const), id: fc.constantFrom(...PORT_IDS), ip: fc.constantFrom(null, '10.1.0.200', '10.8.0.0/16') }),
  fc.record({ k: fc.constant('mac' as const), id: fc.constantFrom(...PORT_IDS), n: fc.integer({ min: 0x60, max: 0x62 }) }),
  fc.record({ k: fc.constant('addNetwork' as const), id: fc.constant('violet'), key: fc.constant(4) }),
  fc.record({ k: fc.constant('tunnelPort' as const), ofport: fc.constantFrom(100, 200) }),
  fc.record({ k: fc.constant('routerAdd' as const), id: routerArb }),
  fc.record({ k: fc.constant('routerRemove' as const), id: routerArb }),
  fc.record({ k: fc.constant('routerAdmin' as const), id: routerArb }),
  fc.record({ k: fc.constant('attach' as const), id: routerArb, net: fc.constantFrom(...NETS) }),
  fc.record({ k: fc.constant('attach' as const), id: routerArb, net: fc.constantFrom(...NETS) }),
  fc.record({ k: fc.constant('detach' as const), id: routerArb, net: fc.constantFrom(...NETS) }),
  fc.record({ k: fc.constant('routes' as const), id: routerArb, which: fc.constantFrom(0 as const, 1 as const, 2 as const) }),
  fc.record({ k: fc.constant('ifaceMac' as const), id: routerArb, net: fc.constantFrom(...NETS), n: fc.integer({ min: 0x70, max: 0x71 }) }),
  fc.record({ k: fc.constant('ifaceAdmin' as const), id: routerArb, net: fc.constantFrom(...NETS) }),
  fc.record({ k: fc.constant('l3Mode' as const) }),
  fc.record({ k: fc.constant('groups' as const), id: fc.constantFrom(...PORT_IDS), which: fc.integer({ min: 0, max: GROUP_SETS.length - 1 }) }),
  fc.record({ k: fc.constant('rule' as const), group: fc.constantFrom('web' as const, 'db' as const), which: fc.integer({ min: 0, max: RULES.length - 1 }) }),
  fc.record({ k: fc.constant('stateful' as const), group: fc.constantFrom('web' as const, 'db' as const) }),
  fc.record({ k: fc.constant('zone' as const), id: fc.constantFrom(...PORT_IDS), zone: fc.integer({ min: 1, max: 3 }) }),
  // North-south: an external network, rA's gateway (hosted here, elsewhere, nowhere), a floating
  // IP, the physnet mapping, a learned neighbour, rA's zones, violet as a provider network.
  fc.record({ k: fc.constant('extNet' as const) }),
  fc.record({ k: fc.constant('gateway' as const), host: fc.constantFrom('hv1' as const, 'hv2' as const, 'none' as const, 'clear' as const), snat: fc.boolean() }),
  fc.record({ k: fc.constant('fip' as const), id: fc.constantFrom(null, 'b1', 'b2', 'g1', 'b3') }),
  fc.record({ k: fc.constant('localnet' as const) }),
  fc.record({ k: fc.constant('neighbour' as const), mac: fc.constantFrom(null, '02:00:00:00:00:01', '02:00:00:00:00:02') }),
  fc.record({ k: fc.constant('routerZones' as const), snat: fc.constantFrom(65535, 65533) }),
  fc.record({ k: fc.constant('provider' as const), type: fc.constantFrom('flat' as const, 'vlan' as const, 'geneve' as const) }),
);

/** The standard cloud plus router rA on blue and green (so plain port ops interact with routing). */
function routedWorld(): World {
  const w = World.standard();
  applyOp(w, { k: 'attach', id: 'rA', net: 'blue' });
  applyOp(w, { k: 'attach', id: 'rA', net: 'green' });
  // Security groups in play from the start: local ports in web / db, a remote member of db.
  applyOp(w, { k: 'rule', group: 'web', which: 0 });
  applyOp(w, { k: 'rule', group: 'web', which: 2 });
  applyOp(w, { k: 'rule', group: 'db', which: 4 });
  applyOp(w, { k: 'groups', id: 'b1', which: 1 });
  applyOp(w, { k: 'groups', id: 'b2', which: 2 });
  applyOp(w, { k: 'groups', id: 'b3', which: 3 });
  applyOp(w, { k: 'zone', id: 'b1', zone: 1 });
  // North-south in play from the start: public, rA's gateway on hv2, a floating IP for b1.
  w.chassis = { ...w.chassis, mac: '0a:57:00:00:00:01' };
  applyOp(w, { k: 'extNet' });
  applyOp(w, { k: 'localnet' });
  applyOp(w, { k: 'routerZones', snat: 65535 });
  applyOp(w, { k: 'neighbour', mac: '02:00:00:00:00:01' });
  applyOp(w, { k: 'gateway', host: 'hv2', snat: true });
  applyOp(w, { k: 'fip', id: 'b1' });
  return w;
}

function applyOp(w: World, op: Op): void {
  const has = (id: string): boolean => w.ports.has(id);
  switch (op.k) {
    case 'portAdmin':
      if (has(op.id)) w.updatePort(op.id, { adminStateUp: !w.port(op.id).adminStateUp });
      return;
    case 'netAdmin': {
      const n = w.networks.get(op.id);
      if (n) w.updateNetwork(op.id, { adminStateUp: !n.adminStateUp });
      return;
    }
    case 'bindLocal':
      if (has(op.id)) w.addPort({ ...w.port(op.id), chassis: 'hv1' }, 1000 + w.port(op.id).key);
      return;
    case 'bindRemote':
      if (has(op.id)) w.addPort({ ...w.port(op.id), chassis: op.chassis });
      return;
    case 'unbind':
      if (has(op.id)) w.addPort({ ...w.port(op.id), chassis: undefined });
      return;
    case 'portSec':
      if (has(op.id)) w.updatePort(op.id, { portSecurityEnabled: !w.port(op.id).portSecurityEnabled });
      return;
    case 'dhcp': {
      const s = w.subnets.get(op.id);
      if (s) w.updateSubnet(op.id, { enableDhcp: !s.enableDhcp });
      return;
    }
    case 'addPort': {
      if (has(op.id) || !w.networks.has(op.net)) return;
      const key = NEW_KEYS[op.id];
      const p = port(op.id, key, op.net, SUBNET_OF[op.net], `10.${key}.0.${key}`, op.where === 'local' ? 'hv1' : op.where === 'none' ? undefined : op.where);
      w.addPort(p, op.where === 'local' ? 1000 + key : undefined);
      return;
    }
    case 'removePort':
      w.removePort(op.id);
      return;
    case 'chassisIp': {
      const c = w.remoteChassis.get(op.name);
      if (c) w.remoteChassis.set(op.name, { ...c, tunnelIp: op.ip });
      return;
    }
    case 'chassisGone':
      w.remoteChassis.delete(op.name);
      return;
    case 'pairs':
      if (has(op.id)) {
        w.updatePort(op.id, {
          allowedAddressPairs: op.ip === null ? [] : [{ ipAddress: op.ip, macAddress: '02:00:00:00:00:01' }],
        });
      }
      return;
    case 'mac':
      if (has(op.id)) w.updatePort(op.id, { macAddress: `fa:16:3e:00:01:${op.n.toString(16)}` });
      return;
    case 'addNetwork':
      if (!w.networks.has(op.id)) {
        w.addNetwork(network(op.id, op.key));
        w.addSubnet(subnet('violet-v4', op.id, '10.4.0.0/24', true));
      }
      return;
    case 'tunnelPort':
      w.tunnelOfport = { geneve: op.ofport };
      return;
    case 'routerAdd':
      if (!w.routers.has(op.id)) w.addRouter(router(op.id, ROUTERS[op.id].key));
      return;
    case 'routerRemove':
      w.routers.delete(op.id);
      return;
    case 'routerAdmin': {
      const r = w.routers.get(op.id);
      if (r) w.updateRouter(op.id, { adminStateUp: !r.adminStateUp });
      return;
    }
    case 'attach': {
      const spec = ROUTERS[op.id].nets[op.net];
      const sub = SUBNET_OF[op.net];
      if (!spec || !w.subnets.has(sub) || w.ports.has(`${op.id}-${sub}`)) return;
      if (!w.routers.has(op.id)) w.addRouter(router(op.id, ROUTERS[op.id].key));
      w.attach(op.id, sub, spec.ip, spec.key);
      return;
    }
    case 'detach':
      if (w.routers.has(op.id)) w.detach(op.id, SUBNET_OF[op.net]);
      return;
    case 'routes':
      if (w.routers.has(op.id)) w.updateRouter(op.id, { routes: ROUTERS[op.id].routes[op.which] });
      return;
    case 'ifaceMac': {
      const id = `${op.id}-${SUBNET_OF[op.net]}`;
      if (has(id)) w.updatePort(id, { macAddress: `fa:16:3e:00:02:${op.n.toString(16)}` });
      return;
    }
    case 'ifaceAdmin': {
      const id = `${op.id}-${SUBNET_OF[op.net]}`;
      if (has(id)) w.updatePort(id, { adminStateUp: !w.port(id).adminStateUp });
      return;
    }
    case 'l3Mode':
      w.l3Mode = w.l3Mode === 'proactive' ? 'reactive' : 'proactive';
      return;
    case 'groups':
      if (has(op.id)) w.updatePort(op.id, { securityGroups: GROUP_SETS[op.which] });
      return;
    case 'rule': {
      const g = w.groups.get(op.group) ?? group(op.group, op.group === 'web' ? 601 : 602, []);
      const r = RULES[op.which](op.group);
      const key = r.key + (op.group === 'db' ? 100 : 0);
      const rules = g.rules.some((x) => x.key === key) ? g.rules.filter((x) => x.key !== key) : [...g.rules, { ...r, key }];
      w.setGroup(group(g.id, g.key, rules, g.stateful));
      return;
    }
    case 'stateful': {
      const g = w.groups.get(op.group);
      if (g) w.setGroup({ ...g, stateful: !g.stateful });
      return;
    }
    case 'zone': {
      const l = w.local.get(op.id);
      if (l) w.local.set(op.id, { ...l, ctZone: op.zone });
      return;
    }
    case 'extNet':
      if (w.networks.has('public')) return;
      w.addNetwork(network('public', 9, { networkType: 'flat', physicalNetwork: 'public', external: true }));
      w.addSubnet({ ...subnet('public-v4', 'public', '203.0.113.0/24', false), gatewayIp: '203.0.113.1' });
      return;
    case 'gateway': {
      const r = w.routers.get('rA');
      if (!r || !w.networks.has('public')) return;
      if (op.host === 'clear') {
        w.removePort('gwA');
        const { gateway: _g, ...rest } = r;
        w.routers.set('rA', rest);
        return;
      }
      w.addPort(
        port('gwA', 97, 'public', 'public-v4', '203.0.113.7', op.host === 'none' ? undefined : op.host, {
          deviceOwner: 'network:router_gateway',
          deviceId: 'rA',
          portSecurityEnabled: false,
          securityGroups: [],
        }),
      );
      w.updateRouter('rA', { gateway: { portId: 'gwA', networkId: 'public', enableSnat: op.snat } });
      return;
    }
    case 'fip': {
      if (op.id === null || !w.ports.has(op.id)) {
        w.floatingIps.delete('f1');
        return;
      }
      const ip = w.port(op.id).fixedIps[0].ipAddress;
      w.floatingIps.set('f1', { id: 'f1', key: 96, address: '203.0.113.96', networkId: 'public', portId: op.id, fixedIp: ip, routerId: 'rA' });
      return;
    }
    case 'localnet':
      if (w.localnets.has('public')) w.localnets.clear();
      else w.localnets.set('public', 50);
      return;
    case 'neighbour':
      w.neighbours.set('public', op.mac === null ? new Map() : new Map([['203.0.113.1', op.mac]]));
      return;
    case 'routerZones':
      w.routerZones.set('rA', { snat: op.snat, dnat: op.snat - 1 });
      return;
    case 'provider': {
      const n = w.networks.get('violet');
      if (!n) return;
      w.updateNetwork('violet', op.type === 'geneve' ? { networkType: 'geneve', physicalNetwork: undefined, segmentationId: undefined } : { networkType: op.type, physicalNetwork: 'public', segmentationId: op.type === 'vlan' ? 300 : undefined });
      return;
    }
  }
}

class Harness {
  readonly desired: DesiredTable;
  readonly installed = new InstalledTable();
  readonly table = newSwitchTable();
  constructor(public topo: LocalTopology) {
    this.desired = fullCompile(topo);
    this.send(diff(this.desired, this.installed));
    this.desired.takeDirty();
  }
  send(msgs: PipelineMessage[]): void {
    this.table.apply(msgs);
    this.installed.apply(msgs);
  }
  /** Incremental path: affected owners only, tracked delta only. */
  update(next: LocalTopology): PipelineMessage[] {
    updateDesired(this.desired, this.topo, next);
    this.topo = next;
    const msgs = diffTracked(this.desired, this.installed);
    this.send(msgs);
    return msgs;
  }
}

describe('incremental == from scratch', () => {
  it('after random sequences of topology changes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 12 }), (ops) => {
        const w = routedWorld();
        const h = new Harness(w.snapshot());
        for (const op of ops) {
          applyOp(w, op);
          const next = w.snapshot();
          h.update(next);
          const scratch = fullCompile(next);
          expect(h.desired.dump()).toBe(scratch.dump());
          // re-diffing everything gives nothing: installed mirror == desired
          expect(diff(h.desired, h.installed)).toEqual([]);
        }
        // the switch equals a switch programmed from scratch
        expect(h.table.dump()).toBe(switchFor(h.topo).table.dump());
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it('change then revert restores the switch exactly', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 8 }), (ops) => {
        const w = routedWorld();
        const original = w.snapshot();
        const h = new Harness(original);
        const before = h.table.dump();
        for (const op of ops) applyOp(w, op);
        h.update(w.snapshot());
        const back = h.update(original);
        expect(h.table.dump()).toBe(before);
        expect(diff(h.desired, h.installed)).toEqual([]);
        // and re-applying the same state sends nothing
        expect(h.update(original)).toEqual([]);
        return back !== undefined;
      }),
      { numRuns: 50 },
    );
  }, 120_000);
});

describe('reconciliation', () => {
  it('re-applying gives an empty diff and leaves the table unchanged', () => {
    const w = World.standard();
    const { table, desired, installed } = switchFor(w.snapshot());
    const before = table.dump();
    expect(diff(desired, installed)).toEqual([]);
    // applying the full set again (as after a reconnect with a stale mirror) changes nothing
    const again = diff(desired, new InstalledTable());
    const t2 = newSwitchTable();
    t2.apply(again);
    expect(t2.dump()).toBe(before);
  });

  it('orders group adds before flows, deletes strict, group deletes after flows', () => {
    const w = World.standard();
    const h = new Harness(w.snapshot());
    // blue loses all its local ports: its groups and flows go away
    w.removePort('b1');
    w.removePort('b2');
    const msgs = h.update(w.snapshot());
    const kinds = msgs.map((m) => (m.type === 'group_mod' ? `g:${m.command}` : `f:${m.command}`));
    const lastFlow = Math.max(...kinds.map((k, i) => (k.startsWith('f:') ? i : -1)));
    const firstGroupDel = kinds.indexOf('g:delete');
    expect(firstGroupDel).toBeGreaterThan(lastFlow);
    expect(kinds.filter((k) => k.startsWith('f:')).every((k) => k === 'f:delete_strict')).toBe(true);
    // and back: group adds come first
    w.addPort(port('b1', 11, 'blue', 'blue-v4', '10.1.0.11', 'hv1'), 1);
    const add = h.update(w.snapshot()).map((m) => (m.type === 'group_mod' ? `g:${m.command}` : `f:${m.command}`));
    expect(add.slice(0, 2)).toEqual(['g:add', 'g:add']);
  });

  it('a full compare against a switch with foreign and stale flows removes them and keeps the rest', () => {
    const w = World.standard();
    const h = new Harness(w.snapshot());
    const good = h.table.dump();
    // a stale mirror read "from the switch": one foreign flow, one changed flow
    const foreign: PipelineMessage = {
      type: 'flow_mod',
      command: 'add',
      tableId: 3,
      priority: 7,
      cookie: 0x99n,
      cookieMask: 0n,
      idleTimeout: 0,
      hardTimeout: 0,
      flags: {},
      bufferId: 0xffffffff,
      outPort: 'any',
      outGroup: 0xffffffff,
      match: { reg14: 999 },
      instructions: [],
    };
    h.send([foreign]);
    expect(h.table.dump()).not.toBe(good);
    const msgs = diff(h.desired, h.installed);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatchObject({ type: 'flow_mod', command: 'delete_strict', tableId: 3, priority: 7 });
    h.send(msgs);
    expect(h.table.dump()).toBe(good);
  });
});

describe('selectivity', () => {
  it('networks with no local port add no flows', () => {
    const w = World.standard();
    w.networks.delete('green');
    w.removePort('g1');
    w.removePort('g2');
    const without = fullCompile(w.snapshot());
    const w2 = World.standard();
    for (let i = 0; i < 20; i++) {
      w2.addNetwork(network(`far${i}`, 100 + i));
      w2.addSubnet(subnet(`far${i}-v4`, `far${i}`, `10.${i}.0.0/24`, true));
      w2.addPort(port(`far${i}-p`, 500 + i, `far${i}`, `far${i}-v4`, `10.${i}.0.5`, 'hv2'));
    }
    const withMore = fullCompile(w2.snapshot());
    expect(withMore.dump()).toBe(without.dump());
    expect(withMore.flowCount).toBe(without.flowCount);
  });

  it('the first local port pulls a network in, the last one drops it', () => {
    const w = World.standard();
    const base = fullCompile(w.snapshot());
    w.addPort({ ...w.port('g1'), chassis: 'hv1' }, 7);
    const withGreen = fullCompile(w.snapshot());
    expect(withGreen.flowCount).toBeGreaterThan(base.flowCount);
    w.addPort({ ...w.port('g1'), chassis: 'hv2' });
    expect(fullCompile(w.snapshot()).dump()).toBe(base.dump());
  });
});
