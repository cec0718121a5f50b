/**
 * The fabric: one namespace holding the Linux bridges that stand in for the machine room's
 * switches: the underlay (every chassis' tunnel veth) and the physical network `public` (every
 * chassis' br-ex veth and the outside namespace). Nothing in it is ever connected to the host's
 * real interfaces.
 */
import { createNetns, ipIn } from './netns.js';
import { fabricBridge, fabricNetns, publicBridge } from './names.js';
import type { SandboxState } from './state.js';

export interface Fabric {
  readonly netns: string;
  /** The underlay bridge (198.51.100.0/24). */
  readonly bridge: string;
  /** The physical network `public`. */
  readonly publicBridge: string;
}

async function ensureBridge(netns: string, bridge: string): Promise<void> {
  try {
    await ipIn(netns, 'link', 'show', 'dev', bridge);
  } catch {
    await ipIn(netns, 'link', 'add', bridge, 'type', 'bridge');
  }
  await ipIn(netns, 'link', 'set', bridge, 'up');
}

export async function createFabric(state: SandboxState): Promise<Fabric> {
  const netns = fabricNetns(state.tag);
  const fabric: Fabric = { netns, bridge: fabricBridge(state.tag), publicBridge: publicBridge(state.tag) };
  await createNetns(state, netns);
  // The bridges live and die with the fabric namespace: no separate record.
  await ensureBridge(netns, fabric.bridge);
  await ensureBridge(netns, fabric.publicBridge);
  return fabric;
}
