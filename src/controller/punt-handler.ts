/**
 * What the local controller does with packets its pipeline punts to it (NXT_PACKET_IN2 with
 * the punt's userdata, see pipeline conventions): answer DHCP, answer ICMP for the router
 * (echo, time exceeded, unreachable), and in reactive mode install the missing per-destination
 * flow and release the first packet through the pipeline again. Every answer goes back with a
 * packet-out; nothing here blocks on the store.
 */
import type { Outgoing } from '../openflow/channel.js';
import type { MessageOf } from '../openflow/types.js';
import { OFP_NO_BUFFER } from '../openflow/ports.js';
import {
  contextOf,
  decodePunt,
  localnetOf,
  reactiveFlow,
  reactiveFlowMod,
  routerInterfaceOn,
  routerInterfaces,
  type FlowModMessage,
  type Punt,
} from '../pipeline/index.js';
import { buildIcmpEchoReply, buildIcmpErrorFrame, decodeEthernet, encodeEthernet, type EthernetFrame } from '../packet/index.js';
import { answerDhcp, DHCP_SERVER_MAC } from './dhcp-responder.js';
import { RateLimiter } from './rate-limiter.js';
import type { LocalTopology, PortInfo } from '../pipeline/topology.js';

/** ICMP "network unreachable" (RFC 792), sent when the router has no route. */
const ICMP_UNREACH_NET = 0;

export interface PuntHandlerDeps {
  /** The topology the installed pipeline was compiled from. */
  topology(): LocalTopology | undefined;
  send(msg: Outgoing): boolean;
  /** Flow mods as one bundle, pipelined (see OpenFlowChannel.bundlePipelined). */
  sendBundle(msgs: readonly Outgoing[]): Promise<void>;
  /** DHCP packets per second per port (burst the same). */
  readonly dhcpRate: number;
  /** External networks' ARP punts (neighbour_miss / neighbour_learn): see north-south.ts. */
  neighbour?(kind: 'miss' | 'learn', msg: MessageOf<'packet_in2'>, networkKey: number): void;
}

type PuntKind = Punt['kind'] | 'unknown';

/** Local ports by port key, per topology object (computed once per snapshot). */
const localByKey = new WeakMap<LocalTopology, Map<number, { port: PortInfo; ofport: number }>>();
function localPortByKey(topo: LocalTopology, key: number): { port: PortInfo; ofport: number } | undefined {
  let m = localByKey.get(topo);
  if (!m) {
    m = new Map();
    for (const [id, b] of topo.local) {
      const port = topo.ports.get(id);
      if (port) m.set(port.key, { port, ofport: b.ofport });
    }
    localByKey.set(topo, m);
  }
  return m.get(key);
}

export class PuntHandler {
  private readonly counts = new Map<PuntKind, number>();
  private readonly dhcpLimiter: RateLimiter;
  private dhcpReplies = 0;
  private reactiveInstalled = 0;
  /** Reactive misses of the current batch of packet-ins: flows by router/destination, packets. */
  private reactiveQueue: { flows: Map<string, FlowModMessage>; packets: Outgoing[] } = { flows: new Map(), packets: [] };

  constructor(private readonly deps: PuntHandlerDeps) {
    this.dhcpLimiter = new RateLimiter(deps.dhcpRate, deps.dhcpRate);
  }

  stats(): { packetIns: number; punts: Record<string, number>; reactiveFlowsInstalled: number; dhcpReplies: number; dhcpRateLimited: number } {
    let packetIns = 0;
    for (const n of this.counts.values()) packetIns += n;
    return {
      packetIns,
      punts: Object.fromEntries(this.counts),
      reactiveFlowsInstalled: this.reactiveInstalled,
      dhcpReplies: this.dhcpReplies,
      dhcpRateLimited: [...this.dhcpLimiter.dropped.values()].reduce((a, b) => a + b, 0),
    };
  }

  /** Handle one packet-in. Never throws: a malformed packet is counted and dropped. */
  handle(msg: MessageOf<'packet_in2'>): void {
    const punt = msg.userdata ? decodePunt(msg.userdata) : undefined;
    this.counts.set(punt?.kind ?? 'unknown', (this.counts.get(punt?.kind ?? 'unknown') ?? 0) + 1);
    const topo = this.deps.topology();
    if (!punt || !topo) return;
    const inPort = typeof msg.metadata.in_port === 'number' ? msg.metadata.in_port : undefined;
    switch (punt.kind) {
      case 'dhcp':
        return this.dhcp(topo, punt.portKey, msg.packet);
      case 'icmp_echo':
        return this.icmpEcho(topo, punt.routerKey, punt.networkKey, msg.packet, inPort);
      case 'ttl_exceeded':
        return this.icmpError(topo, 'time-exceeded', punt.routerKey, punt.networkKey, msg.packet, inPort);
      case 'no_route':
        return this.icmpError(topo, 'dest-unreachable', punt.routerKey, punt.networkKey, msg.packet, inPort);
      case 'reactive_miss':
        return this.reactive(topo, punt.routerKey, msg.packet, inPort);
      case 'neighbour_miss':
        return this.deps.neighbour?.('miss', msg, punt.networkKey);
      case 'neighbour_learn':
        return this.deps.neighbour?.('learn', msg, punt.networkKey);
    }
  }

  private packetOut(ofport: number, data: Buffer): void {
    this.deps.send({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: 'controller', actions: [{ type: 'output', port: ofport }], data });
  }

  private sendFrame(ofport: number | undefined, frame: EthernetFrame, topo?: LocalTopology, networkKey?: number): void {
    if (ofport === undefined) return;
    // An answer to the physical network of a VLAN network goes back tagged (classify popped the tag).
    const net = topo && networkKey !== undefined ? contextOf(topo).networkByKey.get(networkKey) : undefined;
    const ln = net && topo ? localnetOf(contextOf(topo), net) : undefined;
    const out = ln && ln.ofport === ofport && ln.vlan !== undefined ? { ...frame, vlan: { pcp: 0, dei: false, vid: ln.vlan } } : frame;
    const bytes = encodeEthernet(out);
    if (bytes.ok) this.packetOut(ofport, bytes.value);
  }

  private dhcp(topo: LocalTopology, portKey: number, packet: Buffer): void {
    const local = localPortByKey(topo, portKey);
    if (!local) return;
    const network = topo.networks.get(local.port.networkId);
    if (!network || !this.dhcpLimiter.allow(portKey)) return;
    const out = answerDhcp(packet, { port: local.port, network, subnets: topo.subnets }, this.dhcpServerMac(topo, local.port));
    if (out.kind !== 'reply') return;
    this.dhcpReplies++;
    this.packetOut(local.ofport, out.frame);
  }

  /** On a routed subnet the DHCP server speaks with the router's MAC (the gateway's). */
  private dhcpServerMac(topo: LocalTopology, port: PortInfo): string {
    const net = topo.networks.get(port.networkId);
    if (net) {
      for (const r of topo.routers?.values() ?? []) {
        const i = routerInterfaceOn(topo, r.key, net.key);
        if (i) return i.mac;
      }
    }
    return DHCP_SERVER_MAC;
  }

  private icmpEcho(topo: LocalTopology, routerKey: number, networkKey: number, packet: Buffer, inPort: number | undefined): void {
    const frame = decodeEthernet(packet, { decodeL4: true });
    if (!frame.ok || frame.value.payload.type !== 'ipv4') return;
    const dst = frame.value.payload.dst;
    // Only the router's own addresses answer (the flow matched them; check anyway).
    if (!routerInterfaces(topo, routerKey).some((i) => i.ip === dst)) return;
    const reply = buildIcmpEchoReply(frame.value);
    if (reply.ok) this.sendFrame(inPort, reply.value, topo, networkKey);
  }

  private icmpError(
    topo: LocalTopology,
    kind: 'time-exceeded' | 'dest-unreachable',
    routerKey: number,
    ingressNetworkKey: number,
    packet: Buffer,
    inPort: number | undefined,
  ): void {
    const iface = routerInterfaceOn(topo, routerKey, ingressNetworkKey);
    if (!iface) return;
    const frame = buildIcmpErrorFrame(kind, packet, {
      routerIp: iface.ip,
      routerMac: iface.mac,
      ...(kind === 'dest-unreachable' ? { code: ICMP_UNREACH_NET } : {}),
    });
    if (frame.ok) this.sendFrame(inPort, frame.value, topo, ingressNetworkKey);
  }

  private reactive(topo: LocalTopology, routerKey: number, packet: Buffer, inPort: number | undefined): void {
    const frame = decodeEthernet(packet, { decodeL4: false, verifyChecksums: false });
    if (!frame.ok || frame.value.payload.type !== 'ipv4' || inPort === undefined) return;
    const flow = reactiveFlow(topo, routerKey, frame.value.payload.dst);
    if (!flow) return;
    const key = `${routerKey}/${frame.value.payload.dst}`;
    if (!this.reactiveQueue.flows.has(key)) this.reactiveQueue.flows.set(key, reactiveFlowMod(flow));
    this.reactiveQueue.packets.push({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort, actions: [{ type: 'output', port: 'table' }], data: packet });
    if (this.reactiveQueue.flows.size === 1 && this.reactiveQueue.packets.length === 1) queueMicrotask(() => this.flushReactive());
  }

  /**
   * Install the flows of the misses that arrived together (one read from the switch) and release
   * their packets. One miss: a plain flow_mod. Several: one pipelined bundle, so the switch
   * updates its tables once. The switch handles one connection's messages in order, so the
   * flows are in before the packets go through the pipeline again: no first packet is lost, and
   * the next packets never come here.
   */
  private flushReactive(): void {
    const { flows, packets } = this.reactiveQueue;
    this.reactiveQueue = { flows: new Map(), packets: [] };
    try {
      if (flows.size === 1) this.deps.send([...flows.values()][0]);
      else this.deps.sendBundle([...flows.values()]).catch(() => undefined); // missed again: punted again
      for (const p of packets) this.deps.send(p);
      this.reactiveInstalled += flows.size;
    } catch {
      // The switch went away: the packets are lost, as they would be in its queues.
    }
  }
}
