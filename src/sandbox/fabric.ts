/**
 * The underlay fabric: one namespace holding a Linux bridge that every chassis' underlay veth
 * joins. Nothing in it is ever connected to the host's real interfaces.
 */
import { createNetns, ipIn } from './netns.js';
import { fabricBridge, fabricNetns } from './names.js';
import type { SandboxState } from './state.js';

export interface Fabric {
  readonly netns: string;
  readonly bridge: string;
}

export async function createFabric(state: SandboxState): Promise<Fabric> {
  const netns = fabricNetns(state.tag);
  const bridge = fabricBridge(state.tag);
  await createNetns(state, netns);
  // The bridge lives and dies with the fabric namespace: no separate record.
  try {
    await ipIn(netns, 'link', 'show', 'dev', bridge);
  } catch {
    await ipIn(netns, 'link', 'add', bridge, 'type', 'bridge');
  }
  await ipIn(netns, 'link', 'set', bridge, 'up');
  return { netns, bridge };
}
