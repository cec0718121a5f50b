/**
 * One chassis: its own network namespace joined to the fabric by a veth, its own ovsdb-server
 * and ovs-vswitchd (userspace datapath), br-phy holding the underlay veth with the chassis'
 * tunnel IP on br-phy's internal interface, an empty br-int (fail-mode secure) for the
 * controller to program and VMs to plug into, and br-ex holding a veth into the physical
 * network `public` (the controller, given `--bridge-mappings public:br-ex`, patches it to br-int).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { run, startOvs } from '../ovs/daemons.js';
import type { Fabric } from './fabric.js';
import {
  chassisLink,
  chassisName,
  chassisNetns,
  fabricLink,
  publicChassisLink,
  publicFabricLink,
  tunnelIp,
  UNDERLAY_PREFIX_LENGTH,
  type ChassisRole,
} from './names.js';
import { createNetns, createVeth, ipIn, txOffloadOff } from './netns.js';
import type { ChassisInfo, SandboxState } from './state.js';

export const INTEGRATION_BRIDGE = 'br-int';
export const UNDERLAY_BRIDGE = 'br-phy';
/** The chassis' bridge on the physical network `public` (`--bridge-mappings public:br-ex`). */
export const EXTERNAL_BRIDGE = 'br-ex';
/** OpenFlow versions br-int accepts: 1.3 for the controller, 1.0 so plain `ovs-ofctl` works. */
export const BRIDGE_PROTOCOLS = 'OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15';

export interface ChassisSpec {
  readonly role: ChassisRole;
  readonly index: number;
}

export function ovsPidFiles(ovsDir: string): { readonly ovsdb: string; readonly vswitchd: string } {
  return { ovsdb: path.join(ovsDir, 'ovsdb-server.pid'), vswitchd: path.join(ovsDir, 'ovs-vswitchd.pid') };
}

/** `ovs-vsctl` against a chassis' database (through its unix socket, from any namespace). */
export function vsctl(chassis: ChassisInfo, ...args: string[]): Promise<string> {
  return run('ovs-vsctl', [`--db=unix:${chassis.dbSocket}`, '--timeout=30', ...args]);
}

/** The OpenFlow management socket of a bridge of a chassis. */
export function mgmtSocket(chassis: ChassisInfo, bridge = INTEGRATION_BRIDGE): string {
  return path.join(chassis.ovsDir, `${bridge}.mgmt`);
}

/** `ovs-ofctl -O OpenFlow13 COMMAND unix:DIR/BRIDGE.mgmt ARGS...` */
export function ofctl(chassis: ChassisInfo, command: string, bridge: string, ...args: string[]): Promise<string> {
  return run('ovs-ofctl', ['-O', 'OpenFlow13', command, `unix:${mgmtSocket(chassis, bridge)}`, ...args]);
}

/** `ovs-appctl -t DIR/ovs-vswitchd.ctl ARGS...` */
export function appctl(chassis: ChassisInfo, ...args: string[]): Promise<string> {
  return run('ovs-appctl', ['-t', path.join(chassis.ovsDir, 'ovs-vswitchd.ctl'), ...args]);
}

/** OpenFlow port number of an interface (waits for ovs-vswitchd to assign it). */
export async function ofport(chassis: ChassisInfo, iface: string): Promise<number> {
  const out = await vsctl(chassis, 'wait-until', 'Interface', iface, 'ofport>0', '--', 'get', 'Interface', iface, 'ofport');
  return Number.parseInt(out.trim(), 10);
}

export async function createChassis(state: SandboxState, fabric: Fabric, spec: ChassisSpec): Promise<ChassisInfo> {
  const tag = state.tag;
  const name = chassisName(spec.role, spec.index);
  const netns = chassisNetns(tag, name);
  const ovsDir = path.join(state.dir, name);
  const info: ChassisInfo = {
    name,
    role: spec.role,
    netns,
    tunnelIp: tunnelIp(spec.role, spec.index),
    ovsDir,
    dbSocket: path.join(ovsDir, 'db.sock'),
    underlayLink: chassisLink(tag, name),
    publicLink: publicChassisLink(tag, name),
  };
  state.update((d) => {
    if (!d.chassis.some((c) => c.name === name)) d.chassis.push(info);
  });

  await createNetns(state, netns);
  const outer = fabricLink(tag, name);
  await createVeth(state, { netns: fabric.netns, name: outer }, { netns, name: info.underlayLink });
  await ipIn(fabric.netns, 'link', 'set', outer, 'master', fabric.bridge, 'up');
  await ipIn(netns, 'link', 'set', info.underlayLink, 'up');
  // The physical network `public`: a veth from br-ex to the public bridge of the fabric.
  const publicOuter = publicFabricLink(tag, name);
  const publicLink = info.publicLink as string;
  await createVeth(state, { netns: fabric.netns, name: publicOuter }, { netns, name: publicLink });
  await txOffloadOff(fabric.netns, publicOuter);
  await txOffloadOff(netns, publicLink);
  await ipIn(fabric.netns, 'link', 'set', publicOuter, 'master', fabric.publicBridge, 'up');
  await ipIn(netns, 'link', 'set', publicLink, 'up');

  state.record({ kind: 'dir', path: ovsDir });
  mkdirSync(ovsDir, { recursive: true });
  const pids = ovsPidFiles(ovsDir);
  state.record({ kind: 'process', name: `ovsdb-server(${name})`, pidFile: pids.ovsdb, match: ovsDir });
  state.record({ kind: 'process', name: `ovs-vswitchd(${name})`, pidFile: pids.vswitchd, match: ovsDir });
  // --detach returns once each daemon is ready: the real readiness signal.
  await startOvs({ dir: ovsDir, netns });

  await vsctl(
    info,
    'set', 'Open_vSwitch', '.', `external_ids:system-id=${name}`, `external_ids:hostname=${name}`,
    '--', '--may-exist', 'add-br', UNDERLAY_BRIDGE,
    '--', 'set', 'Bridge', UNDERLAY_BRIDGE, 'datapath_type=netdev', 'other_config:disable-in-band=true',
    '--', '--may-exist', 'add-port', UNDERLAY_BRIDGE, info.underlayLink,
    '--', '--may-exist', 'add-br', INTEGRATION_BRIDGE,
    '--', 'set', 'Bridge', INTEGRATION_BRIDGE, 'datapath_type=netdev', 'fail_mode=secure',
    `protocols=${BRIDGE_PROTOCOLS}`, 'other_config:disable-in-band=true',
    '--', '--may-exist', 'add-br', EXTERNAL_BRIDGE,
    '--', 'set', 'Bridge', EXTERNAL_BRIDGE, 'datapath_type=netdev', 'fail_mode=standalone',
    `protocols=${BRIDGE_PROTOCOLS}`, 'other_config:disable-in-band=true',
    '--', '--may-exist', 'add-port', EXTERNAL_BRIDGE, publicLink,
  );
  await configureUnderlayAddress(info);
  return info;
}

/**
 * Userspace tunnelling routes through br-phy's internal interface, which holds the tunnel IP.
 * That interface is a tap device of ovs-vswitchd: it is made again (without an address) each
 * time ovs-vswitchd starts, so a restarted chassis needs this again.
 */
export async function configureUnderlayAddress(info: ChassisInfo): Promise<void> {
  await ipIn(info.netns, 'addr', 'replace', `${info.tunnelIp}/${UNDERLAY_PREFIX_LENGTH}`, 'dev', UNDERLAY_BRIDGE);
  await ipIn(info.netns, 'link', 'set', UNDERLAY_BRIDGE, 'up');
}
