/**
 * The outside world of the sandbox: a namespace `TAG-outside` on the physical network `public`
 * holding the external network's upstream router (203.0.113.1/24 on its interface) and a host
 * on the internet (192.0.2.10/32 on its loopback), with IP forwarding on. `outside exec` runs a
 * command there.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { run } from '../ovs/daemons.js';
import type { Fabric } from './fabric.js';
import { OUTSIDE_HOST_CIDR, OUTSIDE_IFACE, OUTSIDE_ROUTER_CIDR, outsideFabricLink, outsideNetns } from './names.js';
import { createNetns, createVeth, ipIn, txOffloadOff } from './netns.js';
import type { OutsideInfo, SandboxState } from './state.js';

export class OutsideError extends Error {
  override readonly name = 'OutsideError';
}

export async function createOutside(state: SandboxState, fabric: Fabric): Promise<OutsideInfo> {
  const info: OutsideInfo = {
    netns: outsideNetns(state.tag),
    iface: OUTSIDE_IFACE,
    bridge: fabric.publicBridge,
    fabricNetns: fabric.netns,
    routerAddress: OUTSIDE_ROUTER_CIDR,
    hostAddress: OUTSIDE_HOST_CIDR,
  };
  state.update((d) => {
    d.outside = info;
  });
  await createNetns(state, info.netns);
  const outer = outsideFabricLink(state.tag);
  await createVeth(state, { netns: fabric.netns, name: outer }, { netns: info.netns, name: info.iface });
  await txOffloadOff(fabric.netns, outer);
  await txOffloadOff(info.netns, info.iface);
  await ipIn(fabric.netns, 'link', 'set', outer, 'master', fabric.publicBridge, 'up');
  await ipIn(info.netns, 'addr', 'replace', info.routerAddress, 'dev', info.iface);
  await ipIn(info.netns, 'link', 'set', info.iface, 'up');
  await ipIn(info.netns, 'addr', 'replace', info.hostAddress, 'dev', 'lo');
  await run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'], { netns: info.netns });
  return info;
}

export function findOutside(state: SandboxState): OutsideInfo {
  const o = state.refresh().outside;
  if (!o) throw new OutsideError('this sandbox has no outside namespace');
  return o;
}

/** `outside exec`: run a command in the outside namespace with inherited stdio; its exit code. */
export function execOutside(state: SandboxState, argv: readonly string[]): Promise<number> {
  const o = findOutside(state);
  if (argv.length === 0) throw new OutsideError('nothing to run');
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', o.netns, ...argv], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0)));
  });
}
