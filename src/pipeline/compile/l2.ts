/**
 * l2_lookup: eth_dst → reg15.
 * - per port (owned by the port): its MAC in its network → reg15 = key → egress_dispatch, when the
 *   port is admin up and reachable (bound here, or on a known remote chassis); an admin-down port's
 *   MAC is dropped explicitly. Unbound ports have no flow (their MAC is unknown unicast).
 * - per network: multicast/broadcast and unknown unicast → reg15 = 0 (flood) → egress_dispatch.
 * - per router (owned by the router, l3.ts): its interface MAC in a network present here →
 *   reg13 := router key → l3_input, at PRIO_L2_ROUTER_PORT. Router interface ports get no VIF flows.
 */
import type { NetworkInfo, PortInfo } from '../topology.js';
import { FLOOD_PORT_KEY, MULTICAST_BIT } from '../conventions.js';
import type { FlowBuilder } from '../flow-builder.js';
import { setReg } from './actions.js';

export const PRIO_L2_ROUTER_PORT = 110;
export const PRIO_L2_UNICAST = 100;
export const PRIO_L2_MULTICAST = 90;
export const PRIO_L2_UNKNOWN = 10;

export function compileL2Port(b: FlowBuilder, port: PortInfo, net: NetworkInfo, reachable: boolean): void {
  const match = { metadata: BigInt(net.key), eth_dst: port.macAddress.toLowerCase() };
  if (!port.adminStateUp) {
    b.flow('l2_lookup', { priority: PRIO_L2_UNICAST, match });
    return;
  }
  if (!reachable) return;
  b.flow('l2_lookup', { priority: PRIO_L2_UNICAST, match, actions: [setReg('reg15', port.key)], goto: 'egress_dispatch' });
}

export function compileL2Network(b: FlowBuilder, net: NetworkInfo): void {
  const metadata = BigInt(net.key);
  b.flow('l2_lookup', {
    priority: PRIO_L2_MULTICAST,
    match: { metadata, eth_dst: { value: MULTICAST_BIT, mask: MULTICAST_BIT } },
    actions: [setReg('reg15', FLOOD_PORT_KEY)],
    goto: 'egress_dispatch',
  });
  b.flow('l2_lookup', {
    priority: PRIO_L2_UNKNOWN,
    match: { metadata },
    actions: [setReg('reg15', FLOOD_PORT_KEY)],
    goto: 'egress_dispatch',
  });
}
