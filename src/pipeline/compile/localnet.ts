/**
 * Provider networks (flat, VLAN) and the physical side of external networks: the "localnet"
 * port, OVN's name for the patch port between br-int and the bridge a physical network is
 * mapped to (`--bridge-mappings physnet:br-ex`). Every chassis sits on the same physical
 * segment, so a provider network never uses tunnels: its remote ports are reached through the
 * localnet, and a packet that came in through it is never sent back out of it (OpenFlow never
 * outputs to in_port) nor into a tunnel.
 *
 * Owned by the network (when it is present here, or is an external network this chassis
 * reaches the outside through: see context `externalHere`):
 *   classify          in_port = patch port (+ vlan_vid for VLAN, untagged for flat)
 *                     → pop VLAN, metadata := network, reg14 := LOCALNET_PORT_KEY → services
 *   services          ARP from the physical network → l2_lookup, past the local ARP responders
 *                     (they answer only our VMs: answering the segment for a VM on another
 *                     chassis would teach the physical switches the wrong port)      (70)
 *   egress_dispatch   reg15 = LOCALNET_PORT_KEY → (push VLAN) → patch port
 * Ports on a provider network bound to another chassis: egress_dispatch → the localnet
 * (compileEgressRemoteLocalnet, owned by the port); the flood group has one localnet bucket
 * instead of one bucket per remote chassis (egress.ts).
 */
import type { Action } from '../../openflow/types.js';
import type { NetworkInfo, PortInfo } from '../topology.js';
import { ETH_TYPE_ARP, ETH_TYPE_VLAN, LOCALNET_PORT_KEY, OFPVID_PRESENT } from '../conventions.js';
import type { FlowBuilder } from '../flow-builder.js';
import { setNetwork, setReg } from './actions.js';
import type { Localnet } from './context.js';

export const PRIO_CLASSIFY_LOCALNET = 100;
export const PRIO_LOCALNET_ARP = 70;
export const PRIO_EGRESS_LOCALNET = 100;

/** Actions that send the packet out of the localnet (tagged for a VLAN network). */
export function localnetOutput(ln: Localnet): Action[] {
  if (ln.vlan === undefined) return [{ type: 'output', port: ln.ofport }];
  return [
    { type: 'push_vlan', ethertype: ETH_TYPE_VLAN },
    { type: 'set_field', field: 'vlan_vid', value: OFPVID_PRESENT | ln.vlan },
    { type: 'output', port: ln.ofport },
  ];
}

export function compileLocalnet(b: FlowBuilder, net: NetworkInfo, ln: Localnet): void {
  const metadata = BigInt(net.key);
  const classifyActions: Action[] = [setNetwork(net.key), setReg('reg14', LOCALNET_PORT_KEY)];
  b.flow('classify', {
    priority: PRIO_CLASSIFY_LOCALNET,
    // vlan_vid 0 = untagged (OFPVID_NONE): a flat network takes untagged frames only.
    match: { in_port: ln.ofport, vlan_vid: ln.vlan === undefined ? 0 : OFPVID_PRESENT | ln.vlan },
    actions: ln.vlan === undefined ? classifyActions : [{ type: 'pop_vlan' }, ...classifyActions],
    goto: 'services',
  });
  b.flow('services', {
    priority: PRIO_LOCALNET_ARP,
    match: { metadata, reg14: LOCALNET_PORT_KEY, eth_type: ETH_TYPE_ARP },
    goto: 'l2_lookup',
  });
  b.flow('egress_dispatch', {
    priority: PRIO_EGRESS_LOCALNET,
    match: { metadata, reg15: LOCALNET_PORT_KEY },
    actions: localnetOutput(ln),
  });
}

/** A port of a provider network bound to another chassis: reached through the physical network. */
export function compileEgressRemoteLocalnet(b: FlowBuilder, port: PortInfo, net: NetworkInfo, ln: Localnet): void {
  b.flow('egress_dispatch', {
    priority: PRIO_EGRESS_LOCALNET,
    match: { metadata: BigInt(net.key), reg15: port.key },
    actions: localnetOutput(ln),
  });
}
