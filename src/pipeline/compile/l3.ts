/**
 * EXTENSION POINT for issue 5 (the distributed router). Nothing is compiled here yet.
 *
 * Plan: an owner kind `router` (OWNER_KIND_CODES.router, key = router key). Its compiler, for each
 * router interface port of a network active here, adds
 *   l2_lookup  metadata=net, eth_dst=router port MAC      → goto l3_input   (PRIO_L2_ROUTER_PORT)
 *   services   ARP for the gateway IP (already answered by the generic responder: the router
 *              interface port is a port of the network with a fixed IP)
 *   l3_input / l3_route / l3_nexthop (stages declared `reserved` in stages.ts): TTL, LPM on
 *              ipv4_dst, then metadata := destination network, eth_src := router port MAC,
 *              eth_dst := destination port MAC, reg15 := destination port key → egress_dispatch,
 *              so the receiving chassis does no routing.
 * Topology: LocalTopology will need `routers` (router key, ports, routes); add it there.
 */
import type { FlowBuilder } from '../flow-builder.js';
import type { CompileContext } from './context.js';

export function compileRouter(_b: FlowBuilder, _ctx: CompileContext, _routerKey: number): void {
  // Intentionally empty until issue 5.
}
