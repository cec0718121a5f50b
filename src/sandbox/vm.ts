/**
 * Sandbox VMs: a network namespace with one veth end (`eth0`, the port's MAC and MTU), the other
 * end plugged into a chassis' br-int with `external_ids:iface-id=<Neutron port id>` the way
 * Nova/libvirt plug a VIF. `plugVm` is the plumbing alone (tests give it any port id);
 * `createVm` adds the Neutron port and the DHCP client.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { INTEGRATION_BRIDGE, vsctl } from './chassis.js';
import { runDhcpClient, writeDhcpScript, type Lease } from './dhcp-client.js';
import { isVmName, VM_IFACE, vmLink, vmNetns } from './names.js';
import { createNetns, createVeth, ipIn, txOffloadOff } from './netns.js';
import { NeutronClient } from './neutron-client.js';
import type { ChassisInfo, Resource, SandboxState, VmInfo } from './state.js';
import { removeResources } from './teardown.js';

export class VmError extends Error {
  override readonly name = 'VmError';
}

/** MTU when the network does not say (1500 underlay − Geneve/UDP/IP/Ethernet overhead). */
export const DEFAULT_VM_MTU = 1442;

export interface PlugSpec {
  readonly name: string;
  readonly chassis: string;
  readonly portId: string;
  readonly mac: string;
  readonly mtu: number;
  readonly networkId?: string;
}

export function findChassis(state: SandboxState, name: string): ChassisInfo {
  const c = state.data.chassis.find((x) => x.name === name);
  if (!c) throw new VmError(`no chassis ${name} (have: ${state.data.chassis.map((x) => x.name).join(', ')})`);
  return c;
}

export function findVm(state: SandboxState, name: string): VmInfo {
  const vm = state.refresh().vms.find((v) => v.name === name);
  if (!vm) throw new VmError(`no VM named ${name}`);
  return vm;
}

function vmDir(state: SandboxState): string {
  return path.join(state.dir, 'vms');
}

/** The compute chassis with the fewest VMs (ties: the lowest-numbered). */
export function leastLoadedChassis(state: SandboxState): ChassisInfo {
  const data = state.refresh();
  const compute = data.chassis.filter((c) => c.role === 'compute');
  if (compute.length === 0) throw new VmError('the sandbox has no compute chassis');
  const load = (c: ChassisInfo) => data.vms.filter((v) => v.chassis === c.name).length;
  return compute.reduce((best, c) => (load(c) < load(best) ? c : best));
}

/** Resources a VM owns, in creation order (its namespace, its veth, its files). */
function vmResources(state: SandboxState, vm: { name: string; netns: string; chassisNetns: string; hostLink: string }): Resource[] {
  return [
    { kind: 'netns', name: vm.netns },
    { kind: 'link', name: vm.hostLink, netns: vm.chassisNetns },
    { kind: 'file', path: path.join(vmDir(state), `${vm.name}.lease`) },
  ];
}

/** Create the VM's namespace and veth, and plug it into the chassis' br-int. */
export async function plugVm(state: SandboxState, spec: PlugSpec): Promise<VmInfo> {
  if (!isVmName(spec.name)) throw new VmError(`bad VM name ${JSON.stringify(spec.name)}`);
  const chassis = findChassis(state, spec.chassis);
  const netns = vmNetns(state.tag, spec.name);
  const vm = state.update((d): VmInfo => {
    if (d.vms.some((v) => v.name === spec.name)) throw new VmError(`a VM named ${spec.name} exists`);
    const info: VmInfo = {
      name: spec.name,
      chassis: chassis.name,
      netns,
      hostLink: vmLink(d.tag, d.nextVmIndex++),
      portId: spec.portId,
      mac: spec.mac,
      mtu: spec.mtu,
      networkId: spec.networkId,
    };
    d.vms.push(info);
    return info;
  });
  state.record({ kind: 'dir', path: vmDir(state) });
  mkdirSync(vmDir(state), { recursive: true });

  await createNetns(state, netns);
  await createVeth(state, { netns: chassis.netns, name: vm.hostLink }, { netns, name: VM_IFACE });
  await ipIn(netns, 'link', 'set', 'dev', VM_IFACE, 'address', spec.mac, 'mtu', String(spec.mtu), 'up');
  await ipIn(chassis.netns, 'link', 'set', 'dev', vm.hostLink, 'mtu', String(spec.mtu), 'up');
  await txOffloadOff(netns, VM_IFACE);
  await txOffloadOff(chassis.netns, vm.hostLink);
  await vsctl(
    chassis,
    '--may-exist', 'add-port', INTEGRATION_BRIDGE, vm.hostLink,
    '--', 'set', 'Interface', vm.hostLink,
    `external_ids:iface-id=${spec.portId}`,
    `external_ids:attached-mac=${spec.mac}`,
    'external_ids:iface-status=active',
    `external_ids:vm-id=${spec.name}`,
  );
  return vm;
}

/** Unplug and remove a VM's namespace, veth and files (not its Neutron port). Idempotent. */
export async function unplugVm(state: SandboxState, name: string): Promise<void> {
  const vm = findVm(state, name);
  const chassis = findChassis(state, vm.chassis);
  try {
    await vsctl(chassis, '--if-exists', 'del-port', INTEGRATION_BRIDGE, vm.hostLink);
  } catch {
    // OVS already gone (crashed chassis): removing the namespace is what matters
  }
  const owned = vmResources(state, { ...vm, chassisNetns: chassis.netns });
  const { errors } = await removeResources(state, owned);
  if (errors.length > 0) throw new VmError(`could not remove VM ${name}: ${errors.join('; ')}`);
  state.update((d) => {
    d.vms = d.vms.filter((v) => v.name !== name);
  });
}

/** Give a VM a static address (tests; VMs normally use DHCP). */
export async function setVmAddress(state: SandboxState, name: string, address: string): Promise<void> {
  const vm = findVm(state, name);
  await ipIn(vm.netns, 'addr', 'replace', address, 'dev', VM_IFACE);
  state.update((d) => {
    d.vms = d.vms.map((v) => (v.name === name ? { ...v, address } : v));
  });
}

/** Run the DHCP client in a VM and record the address it got. */
export async function dhcpVm(state: SandboxState, name: string): Promise<Lease> {
  const vm = findVm(state, name);
  const script = writeDhcpScript(state);
  const leaseFile = path.join(vmDir(state), `${name}.lease`);
  state.record({ kind: 'file', path: leaseFile });
  const lease = await runDhcpClient({ netns: vm.netns, iface: VM_IFACE, script, leaseFile });
  state.update((d) => {
    d.vms = d.vms.map((v) => (v.name === name ? { ...v, address: lease.address } : v));
  });
  return lease;
}

export interface CreateVmOptions {
  readonly name: string;
  readonly network: string;
  readonly chassis?: string;
  readonly securityGroups?: readonly string[];
  /** Run the DHCP client (default true). */
  readonly dhcp?: boolean;
}

export interface CreatedVm {
  readonly vm: VmInfo;
  readonly lease?: Lease;
}

/** `vm create`: Neutron port through the API, namespace + veth + br-int plug, DHCP. */
export async function createVm(state: SandboxState, o: CreateVmOptions): Promise<CreatedVm> {
  if (!isVmName(o.name)) throw new VmError(`bad VM name ${JSON.stringify(o.name)}`);
  const apiUrl = state.refresh().apiUrl;
  if (!apiUrl) throw new VmError('the sandbox has no API server');
  if (state.data.vms.some((v) => v.name === o.name)) throw new VmError(`a VM named ${o.name} exists`);
  const chassis = o.chassis ? findChassis(state, o.chassis) : leastLoadedChassis(state);
  const api = new NeutronClient(apiUrl);
  const network = await api.findNetwork(o.network);
  const securityGroups = await Promise.all((o.securityGroups ?? []).map((g) => api.findSecurityGroup(g)));
  const port = await api.createPort({
    name: o.name,
    networkId: network.id,
    hostId: chassis.name,
    deviceId: randomUUID(),
    securityGroups,
  });
  let vm: VmInfo;
  try {
    vm = await plugVm(state, {
      name: o.name,
      chassis: chassis.name,
      portId: port.id,
      mac: port.mac_address,
      mtu: network.mtu ?? DEFAULT_VM_MTU,
      networkId: network.id,
    });
  } catch (err) {
    await api.deletePort(port.id).catch(() => undefined);
    throw err;
  }
  if (o.dhcp === false) return { vm };
  const lease = await dhcpVm(state, o.name);
  return { vm: findVm(state, o.name), lease };
}

/** `vm delete`: unplug, remove the namespace, delete the Neutron port. */
export async function deleteVm(state: SandboxState, name: string): Promise<void> {
  const vm = findVm(state, name);
  await unplugVm(state, name);
  const apiUrl = state.data.apiUrl;
  if (apiUrl) await new NeutronClient(apiUrl).deletePort(vm.portId);
}

/** `vm exec`: run a command inside the VM's namespace with inherited stdio; its exit code. */
export function execInVm(state: SandboxState, name: string, argv: readonly string[]): Promise<number> {
  const vm = findVm(state, name);
  if (argv.length === 0) throw new VmError('nothing to run');
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', vm.netns, ...argv], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0)));
  });
}
