/**
 * The controller's north-south duties beside the flows (pipeline compile/nat.ts):
 * - gateway chassis claim router gateway ports nobody hosts (`binding:host_id`, compare-and-set
 *   on an empty host, so two gateway chassis never both take one);
 * - status: a floating IP is ACTIVE while its NAT is programmed on its VM's chassis, DOWN when it
 *   cannot be; router interface ports and hosted gateway ports are ACTIVE once programmed;
 * - announcements: a gratuitous ARP out of the physical network when a floating IP or gateway
 *   address starts being served here (the outside's neighbour entry moves at once), and into a
 *   network's local ports when a router interface appears or changes MAC there;
 * - neighbours: ARP for the next hops on external networks (the subnet's gateway ahead of any
 *   traffic; others on a miss, holding the packet until the answer's flow is in).
 * Everything here runs after a sync pass succeeded (flows acknowledged), never blocks it, and
 * retries on the next pass when a store write fails.
 */
import type { Store } from '../store/types.js';
import type { Outgoing } from '../openflow/channel.js';
import type { Action, MessageOf } from '../openflow/types.js';
import { OFP_NO_BUFFER } from '../openflow/ports.js';
import { resourceKey } from '../model/keys.js';
import { floatingIpRecord, portRecord } from '../model/record-decoders.js';
import { isRouterGateway, isRouterInterface } from '../model/collections.js';
import type { FloatingIpRecord, PortRecord } from '../model/records.js';
import { buildArpRequest, decodeEthernet, encodeEthernet, type EthernetFrame } from '../packet/index.js';
import {
  contextOf,
  externalHere,
  floatingIpView,
  localFloodGroupId,
  localnetOf,
  routerView,
  stage,
  type Localnet,
} from '../pipeline/index.js';
import { bitsToIpv4, ipv4ToBits } from '../pipeline/fields.js';
import type { LocalTopology, NetworkInfo } from '../pipeline/topology.js';
import type { NbSnapshot } from './nb-cache.js';
import { inCidr, NeighbourTable, type HeldPacket } from './neighbours.js';
import { updateRecord } from './record-update.js';

/** Re-ask for the upstream gateways this often (a changed upstream MAC is picked up). */
const REFRESH_MS = 30_000;
/** Gratuitous ARPs per announcement, and the gap between them. */
const ANNOUNCE_REPEAT = 3;
const ANNOUNCE_GAP_MS = 300;

export interface NorthSouthDeps {
  readonly store: Store;
  readonly chassis: string;
  readonly gateway: boolean;
  send(msg: Outgoing): void;
  log(line: string): void;
  /** Something changed that the flows depend on (neighbours learned): sync again. */
  resync(): void;
}

/** An address this chassis answers for on an external network. */
interface ExternalAddress {
  readonly networkId: string;
  readonly ip: string;
  readonly mac: string;
}

export class NorthSouth {
  readonly neighbours = new NeighbourTable();
  private announced = new Map<string, ExternalAddress>();
  private routerMacs = new Map<string, string>();
  private readonly writing = new Set<string>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private topo: LocalTopology | undefined;
  private stopped = false;

  constructor(private readonly deps: NorthSouthDeps) {}

  start(): void {
    this.refreshTimer = setInterval(() => {
      this.neighbours.dropPending();
      if (this.topo) this.resolveUpstreams(this.topo, true);
    }, REFRESH_MS);
    this.refreshTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
  }

  /** After a sync pass whose flows the switch acknowledged. */
  afterSync(topo: LocalTopology, nb: NbSnapshot): void {
    if (this.stopped) return;
    const first = this.topo === undefined;
    this.topo = topo;
    const ctx = contextOf(topo);
    const external = new Set<string>();
    for (const n of topo.networks.values()) if (externalHere(ctx, n)) external.add(n.id);
    this.neighbours.retain(external);
    this.resolveUpstreams(topo, first);
    this.announce(topo);
    this.releaseHeld();
    void this.writeStatus(topo, nb);
    if (this.deps.gateway) void this.claimGateways(nb);
  }

  // ---- neighbours ----------------------------------------------------------------------------

  /** The way out to external network `n` here, and our address there to ask from. */
  private askFrom(topo: LocalTopology, n: NetworkInfo): { ln: Localnet; ip: string; mac: string } | undefined {
    const ctx = contextOf(topo);
    const ln = localnetOf(ctx, n);
    if (!ln) return undefined;
    for (const r of ctx.routersByGatewayNetwork.get(n.id) ?? []) {
      const gw = routerView(ctx, r.key)?.gateway;
      if (gw?.hosted) return { ln, ip: gw.ip, mac: gw.mac };
    }
    for (const f of ctx.floatingIpsByNetwork.get(n.id) ?? []) {
      if (topo.chassis.mac && floatingIpView(ctx, f)) return { ln, ip: f.address, mac: topo.chassis.mac };
    }
    return undefined;
  }

  /** ARP for every external subnet's gateway a router here leaves through (not yet known, or all). */
  private resolveUpstreams(topo: LocalTopology, all: boolean): void {
    const ctx = contextOf(topo);
    for (const n of topo.networks.values()) {
      if (!externalHere(ctx, n)) continue;
      const from = this.askFrom(topo, n);
      if (!from) continue;
      for (const s of ctx.subnetsByNetwork.get(n.id) ?? []) {
        const up = s.gatewayIp;
        if (s.ipVersion !== 4 || !up) continue;
        if (!all && this.neighbours.get(n.id, up) !== undefined) continue;
        this.arp(from, up);
      }
    }
  }

  private arp(from: { ln: Localnet; ip: string; mac: string }, target: string): void {
    this.sendExternal(from.ln, buildArpRequest({ senderMac: from.mac, senderIp: from.ip, targetIp: target }));
  }

  private sendExternal(ln: Localnet, frame: EthernetFrame): void {
    const tagged: EthernetFrame = ln.vlan === undefined ? frame : { ...frame, vlan: { pcp: 0, dei: false, vid: ln.vlan } };
    const bytes = encodeEthernet(tagged);
    if (!bytes.ok) return;
    this.deps.send({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: 'controller', actions: [{ type: 'output', port: ln.ofport }], data: bytes.value });
  }

  /** neighbour_miss: hold the packet, ask for its next hop (reg0) once. */
  onMiss(msg: MessageOf<'packet_in2'>, networkKey: number): void {
    const topo = this.topo;
    const reg0 = msg.metadata.reg0;
    if (!topo || typeof reg0 !== 'number') return;
    const n = contextOf(topo).networkByKey.get(networkKey);
    if (!n) return;
    const ip = bitsToIpv4(BigInt(reg0 >>> 0));
    if (!(contextOf(topo).subnetsByNetwork.get(n.id) ?? []).some((s) => s.ipVersion === 4 && inCidr(ip, s.cidr))) return;
    if (!this.neighbours.hold(n.id, { packet: msg.packet, networkKey, ip })) return;
    // Ask from the address the packet leaves with (after SNAT), so the answer comes back here.
    const frame = decodeEthernet(msg.packet, { decodeL4: false, verifyChecksums: false });
    const ln = localnetOf(contextOf(topo), n);
    if (!frame.ok || frame.value.payload.type !== 'ipv4' || !ln) return;
    this.arp({ ln, ip: frame.value.payload.src, mac: frame.value.src }, ip);
  }

  /** neighbour_learn: an ARP packet from the physical network addressed to one of our addresses. */
  onLearn(msg: MessageOf<'packet_in2'>, networkKey: number): void {
    const topo = this.topo;
    if (!topo) return;
    const n = contextOf(topo).networkByKey.get(networkKey);
    const frame = decodeEthernet(msg.packet, { decodeL4: false, verifyChecksums: false });
    if (!n || !frame.ok || frame.value.payload.type !== 'arp') return;
    const arp = frame.value.payload;
    if (!(contextOf(topo).subnetsByNetwork.get(n.id) ?? []).some((s) => s.ipVersion === 4 && inCidr(arp.senderIp, s.cidr))) return;
    if (this.neighbours.learn(n.id, arp.senderIp, arp.senderMac)) this.deps.resync();
  }

  /** Packets held for next hops now known go back into l3_ext_neighbour (their flow is in). */
  private releaseHeld(): void {
    for (const h of this.neighbours.releasable()) this.release(h);
  }

  private release(h: HeldPacket): void {
    const actions: Action[] = [
      { type: 'set_field', field: 'metadata', value: BigInt(h.networkKey) },
      { type: 'set_field', field: 'reg0', value: Number(ipv4ToBits(h.ip)) },
      { type: 'resubmit', table: stage('l3_ext_neighbour').tableId },
    ];
    this.deps.send({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: 'controller', actions, data: h.packet });
  }

  // ---- announcements -------------------------------------------------------------------------

  private announce(topo: LocalTopology): void {
    const ctx = contextOf(topo);
    const now = new Map<string, ExternalAddress & { ln: Localnet }>();
    for (const r of topo.routers?.values() ?? []) {
      const gw = routerView(ctx, r.key)?.gateway;
      if (gw?.hosted && gw.localnet && routerView(ctx, r.key)?.active) {
        now.set(`${gw.network.id}/${gw.ip}`, { networkId: gw.network.id, ip: gw.ip, mac: gw.mac, ln: gw.localnet });
      }
    }
    for (const f of topo.floatingIps?.values() ?? []) {
      const v = floatingIpView(ctx, f);
      if (v?.gw.localnet) now.set(`${f.networkId}/${f.address}`, { networkId: f.networkId, ip: f.address, mac: v.mac, ln: v.gw.localnet });
    }
    for (const [k, a] of now) {
      const before = this.announced.get(k);
      if (before && before.mac === a.mac) continue;
      const frame = buildArpRequest({ senderMac: a.mac, senderIp: a.ip, targetIp: a.ip });
      this.repeat(() => this.sendExternal(a.ln, frame));
    }
    this.announced = new Map([...now].map(([k, a]) => [k, { networkId: a.networkId, ip: a.ip, mac: a.mac }]));

    // Router interfaces on networks with local ports: tell the VMs when one appears or moves MAC.
    const macs = new Map<string, string>();
    for (const r of topo.routers?.values() ?? []) {
      const view = routerView(ctx, r.key);
      if (!view?.active) continue;
      for (const i of view.interfaces) {
        if (!(ctx.portsByNetwork.get(i.network.id) ?? []).some((p) => topo.local.has(p.id))) continue;
        const k = `${i.network.key}/${i.ip}`;
        macs.set(k, i.mac);
        if (this.routerMacs.get(k) === i.mac) continue;
        const frame = buildArpRequest({ senderMac: i.mac, senderIp: i.ip, targetIp: i.ip });
        const bytes = encodeEthernet(frame);
        if (!bytes.ok) continue;
        const actions: Action[] = [
          { type: 'set_field', field: 'metadata', value: BigInt(i.network.key) },
          { type: 'set_field', field: 'reg15', value: 0 },
          { type: 'group', groupId: localFloodGroupId(i.network.key) },
        ];
        this.repeat(() => this.deps.send({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: 'controller', actions, data: bytes.value }));
      }
    }
    this.routerMacs = macs;
  }

  private repeat(fn: () => void): void {
    for (let i = 0; i < ANNOUNCE_REPEAT; i++) {
      const t = setTimeout(() => {
        if (!this.stopped) {
          try {
            fn();
          } catch {
            // the switch went away: the next connect re-announces nothing, but the flows answer ARP
          }
        }
      }, i * ANNOUNCE_GAP_MS);
      t.unref();
    }
  }

  // ---- store writes --------------------------------------------------------------------------

  private once(key: string, fn: () => Promise<unknown>): Promise<void> {
    if (this.writing.has(key)) return Promise.resolve();
    this.writing.add(key);
    return fn()
      .then(() => undefined)
      .catch((e: unknown) => this.deps.log(`north-south write ${key}: ${String(e)}`))
      .finally(() => this.writing.delete(key));
  }

  private async writeStatus(topo: LocalTopology, nb: NbSnapshot): Promise<void> {
    const ctx = contextOf(topo);
    const jobs: Promise<void>[] = [];
    for (const f of nb.floatingIps.values()) {
      if (f.port_id === null || !topo.local.has(f.port_id)) continue;
      const info = topo.floatingIps?.get(f.id);
      const want: FloatingIpRecord['status'] = info && floatingIpView(ctx, info) ? 'ACTIVE' : 'DOWN';
      if (f.status === want) continue;
      const key = resourceKey('floatingips', f.id);
      jobs.push(
        this.once(key, () =>
          updateRecord(this.deps.store, key, floatingIpRecord, (r) =>
            r.status === want || r.port_id !== f.port_id ? undefined : { status: want },
          ),
        ),
      );
    }
    for (const r of topo.routers?.values() ?? []) {
      const view = routerView(ctx, r.key);
      if (!view?.active) continue;
      const ids = view.interfaces.map((i) => i.port.id);
      if (view.gateway?.hosted) ids.push(view.gateway.port.id);
      for (const id of ids) {
        const p = nb.ports.get(id);
        if (!p || p.status === 'ACTIVE' || !p.admin_state_up) continue;
        const key = resourceKey('ports', id);
        jobs.push(
          this.once(key, () =>
            updateRecord(this.deps.store, key, portRecord, (rec) =>
              rec.status === 'ACTIVE' || !(isRouterInterface(rec) || isRouterGateway(rec)) ? undefined : { status: 'ACTIVE' as const },
            ),
          ),
        );
      }
    }
    await Promise.all(jobs);
  }

  /** Take the router gateway ports no chassis hosts (first gateway chassis to write wins). */
  private async claimGateways(nb: NbSnapshot): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const p of nb.ports.values()) {
      if (!isRouterGateway(p) || p['binding:host_id'] !== '') continue;
      const key = resourceKey('ports', p.id);
      jobs.push(
        this.once(key, async () => {
          const took = await updateRecord(this.deps.store, key, portRecord, (rec): Partial<PortRecord> | undefined =>
            rec['binding:host_id'] !== '' || !isRouterGateway(rec)
              ? undefined
              : {
                  'binding:host_id': this.deps.chassis,
                  'binding:vif_type': 'ovs',
                  'binding:vif_details': { port_filter: false, connectivity: 'l2', bridge_name: 'br-int', datapath_type: 'netdev' },
                },
          );
          if (took) this.deps.log(`hosting router gateway port ${p.id} (router ${p.device_id})`);
        }),
      );
    }
    await Promise.all(jobs);
  }
}
