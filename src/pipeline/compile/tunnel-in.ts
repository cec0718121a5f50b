/**
 * tunnel_in: a packet from a tunnel already names its network and destination port, so it goes
 * straight to acl_ingress (unicast) or to the local-only flood group — never to l2_lookup and never
 * back into a tunnel. Unknown keys miss and are dropped.
 */
import type { NetworkInfo, PortInfo } from '../topology.js';
import type { FlowBuilder } from '../flow-builder.js';
import { GENEVE_PORT_FIELD, MAX_NETWORK_KEY, MAX_PORT_KEY, localFloodGroupId, vxlanFloodVni, vxlanUnicastVni } from '../conventions.js';
import { setNetwork, setReg } from './actions.js';
import { receiveEncaps, type CompileContext } from './context.js';

export const PRIO_TUNNEL_IN = 100;

/** Unicast to a local port (owned by the port). */
export function compileTunnelInPort(b: FlowBuilder, ctx: CompileContext, port: PortInfo, net: NetworkInfo): void {
  if (port.key > MAX_PORT_KEY || net.key > MAX_NETWORK_KEY) return;
  for (const { encap, ofport } of receiveEncaps(ctx)) {
    const match =
      encap === 'geneve'
        ? { in_port: ofport, tunnel_id: BigInt(net.key), [GENEVE_PORT_FIELD]: BigInt(port.key) }
        : { in_port: ofport, tunnel_id: vxlanUnicastVni(port.key) };
    b.flow('tunnel_in', {
      priority: PRIO_TUNNEL_IN,
      match,
      actions: [setNetwork(net.key), setReg('reg15', port.key)],
      goto: 'acl_ingress',
    });
  }
}

/** Flood to the local ports of a network (owned by the network). */
export function compileTunnelInFlood(b: FlowBuilder, ctx: CompileContext, net: NetworkInfo): void {
  if (net.key > MAX_NETWORK_KEY) return;
  for (const { encap, ofport } of receiveEncaps(ctx)) {
    const match =
      encap === 'geneve'
        ? { in_port: ofport, tunnel_id: BigInt(net.key), [GENEVE_PORT_FIELD]: 0n }
        : { in_port: ofport, tunnel_id: vxlanFloodVni(net.key) };
    b.flow('tunnel_in', {
      priority: PRIO_TUNNEL_IN,
      match,
      actions: [setNetwork(net.key), setReg('reg15', 0), { type: 'group', groupId: localFloodGroupId(net.key) }],
    });
  }
}
