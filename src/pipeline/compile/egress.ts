/**
 * egress_dispatch → (acl_ingress → output_local) | output_tunnel, and the flood groups.
 * - local port: egress_dispatch reg15=key → acl_ingress; output_local reg15=key → ofport.
 * - remote port: egress_dispatch reg15=key → output_tunnel; output_tunnel sets tun_dst, tun_id
 *   (and tun_metadata0 for Geneve) and outputs to the tunnel port.
 * - network: egress_dispatch reg15=0 → flood group (type all): one bucket per admin-up local port
 *   (reg15 := key, resubmit to acl_ingress, so flooded packets take the same ingress checks) and
 *   one head-end replication bucket per remote chassis holding an admin-up port of the network;
 *   the local-only flood group (for packets from a tunnel) has only the local buckets. OpenFlow
 *   never outputs a packet to its own in_port, so the sender's own bucket is a no-op.
 */
import type { NetworkInfo, PortInfo } from '../topology.js';
import type { Action } from '../../openflow/types.js';
import { FLOOD_PORT_KEY, MAX_NETWORK_KEY, MAX_PORT_KEY, floodGroupId, localFloodGroupId } from '../conventions.js';
import { resubmitTo, type FlowBuilder } from '../flow-builder.js';
import { setReg, tunnelActions } from './actions.js';
import { isProviderNetwork, isRouterPort, localnetOf, localOfport, remoteChassisOf, tunnelTo, type CompileContext, type TunnelPath } from './context.js';
import { localnetOutput } from './localnet.js';

export const PRIO_EGRESS = 100;

export function compileEgressLocal(b: FlowBuilder, port: PortInfo, net: NetworkInfo, ofport: number): void {
  const match = { metadata: BigInt(net.key), reg15: port.key };
  b.flow('egress_dispatch', { priority: PRIO_EGRESS, match, goto: 'acl_ingress' });
  b.flow('output_local', { priority: PRIO_EGRESS, match, actions: [{ type: 'output', port: ofport }] });
}

export function compileEgressRemote(b: FlowBuilder, port: PortInfo, net: NetworkInfo, path: TunnelPath): void {
  if (port.key > MAX_PORT_KEY || net.key > MAX_NETWORK_KEY) return;
  const match = { metadata: BigInt(net.key), reg15: port.key };
  b.flow('egress_dispatch', { priority: PRIO_EGRESS, match, goto: 'output_tunnel' });
  b.flow('output_tunnel', { priority: PRIO_EGRESS, match, actions: tunnelActions(path, net.key, port.key) });
}

/** Local admin-up VIFs of a network (sorted by key). */
export function activeLocalPorts(ctx: CompileContext, net: NetworkInfo): PortInfo[] {
  return (ctx.portsByNetwork.get(net.id) ?? []).filter(
    (p) => p.adminStateUp && !isRouterPort(p) && localOfport(ctx, p) !== undefined,
  );
}

/** Remote chassis holding an admin-up port of the network, with the tunnel to each (by name). */
export function floodChassis(ctx: CompileContext, net: NetworkInfo): TunnelPath[] {
  const names = new Set<string>();
  for (const p of ctx.portsByNetwork.get(net.id) ?? []) {
    if (!p.adminStateUp || isRouterPort(p)) continue;
    const ch = remoteChassisOf(ctx, p);
    if (ch) names.add(ch.name);
  }
  const out: TunnelPath[] = [];
  for (const name of [...names].sort()) {
    const path = tunnelTo(ctx, ctx.topo.remoteChassis.get(name));
    if (path) out.push(path);
  }
  return out;
}

export function compileFlood(b: FlowBuilder, ctx: CompileContext, net: NetworkInfo): void {
  const local: Action[][] = activeLocalPorts(ctx, net).map((p) => [setReg('reg15', p.key), resubmitTo('acl_ingress')]);
  // A provider network floods to the physical segment (every chassis on it hears it there).
  const ln = localnetOf(ctx, net);
  const remote: Action[][] = isProviderNetwork(net)
    ? ln ? [localnetOutput(ln)] : []
    : net.key > MAX_NETWORK_KEY ? [] : floodChassis(ctx, net).map((path) => tunnelActions(path, net.key, FLOOD_PORT_KEY));
  b.group(floodGroupId(net.key), 'all', [...local, ...remote]);
  b.group(localFloodGroupId(net.key), 'all', local);
  b.flow('egress_dispatch', {
    priority: PRIO_EGRESS,
    match: { metadata: BigInt(net.key), reg15: FLOOD_PORT_KEY },
    actions: [{ type: 'group', groupId: floodGroupId(net.key) }],
  });
}
