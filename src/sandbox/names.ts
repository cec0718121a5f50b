/**
 * Names of everything a sandbox creates. Every namespace and interface carries the sandbox's
 * tag (`wy` + 4 hex digits) so parallel sandboxes and other tests never collide, and interface
 * names stay within Linux's 15 characters.
 */
import { randomBytes } from 'node:crypto';

export const IFNAMSIZ_MAX = 15;

/** The underlay: every chassis' tunnel IP lives here. */
export const UNDERLAY_PREFIX = '198.51.100.';
export const UNDERLAY_PREFIX_LENGTH = 24;

/** A fresh sandbox tag: `wy` + 4 hex digits. */
export function newTag(): string {
  return `wy${randomBytes(2).toString('hex')}`;
}

export function isTag(tag: string): boolean {
  return /^wy[0-9a-f]{4}$/.test(tag);
}

export type ChassisRole = 'compute' | 'gateway';

/** Compute chassis are hv1..hvN, gateway chassis gw1..gwN. */
export function chassisName(role: ChassisRole, index: number): string {
  return `${role === 'compute' ? 'hv' : 'gw'}${index}`;
}

/** hvN → 198.51.100.(10+N); gwN → 198.51.100.(100+N). */
export function tunnelIp(role: ChassisRole, index: number): string {
  const host = (role === 'compute' ? 10 : 100) + index;
  if (index < 1 || host > 254) throw new RangeError(`no underlay address for ${chassisName(role, index)}`);
  return `${UNDERLAY_PREFIX}${host}`;
}

export function fabricNetns(tag: string): string {
  return `${tag}-fabric`;
}

/** The Linux bridge inside the fabric namespace. */
export function fabricBridge(tag: string): string {
  return checkIfName(`${tag}-br`);
}

/** The physical network `public` (the external network's L2): a second Linux bridge in the fabric namespace. */
export const PUBLIC_PHYSNET = 'public';

export function publicBridge(tag: string): string {
  return checkIfName(`${tag}-pub`);
}

/** The upstream router of `public` and a host on the internet live in this namespace. */
export function outsideNetns(tag: string): string {
  return `${tag}-outside`;
}

/** Fabric-side end of the outside namespace's veth (a port of the `public` bridge). */
export function outsideFabricLink(tag: string): string {
  return checkIfName(`${tag}o-pub`);
}

/** The outside namespace's interface on `public` (unique by namespace). */
export const OUTSIDE_IFACE = 'eth0';
/** The upstream router's address on `public` (what an external subnet names as its gateway). */
export const OUTSIDE_ROUTER_CIDR = '203.0.113.1/24';
/** A host on the internet, on the outside namespace's loopback. */
export const OUTSIDE_HOST_CIDR = '192.0.2.10/32';

/** Fabric-side end of a chassis' `public` veth (a port of the `public` bridge). */
export function publicFabricLink(tag: string, chassis: string): string {
  return checkIfName(`${tag}x-${chassis}`);
}

/** Chassis-side end of its `public` veth (a port of br-ex). */
export function publicChassisLink(tag: string, chassis: string): string {
  return checkIfName(`${tag}e-${chassis}`);
}

export function chassisNetns(tag: string, chassis: string): string {
  return `${tag}-${chassis}`;
}

/** Fabric-side end of a chassis' underlay veth (lives in the fabric namespace). */
export function fabricLink(tag: string, chassis: string): string {
  return checkIfName(`${tag}f-${chassis}`);
}

/** Chassis-side end of its underlay veth (lives in the chassis namespace, port of br-phy). */
export function chassisLink(tag: string, chassis: string): string {
  return checkIfName(`${tag}p-${chassis}`);
}

export function vmNetns(tag: string, vm: string): string {
  return `${tag}-vm-${vm}`;
}

/** Chassis-side end of a VM's veth (port of br-int); `index` is unique within the sandbox. */
export function vmLink(tag: string, index: number): string {
  return checkIfName(`${tag}v${index}`);
}

/** Name of the VM's interface inside its own namespace (unique by namespace). */
export const VM_IFACE = 'eth0';

export function isVmName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(name);
}

function checkIfName(name: string): string {
  if (name.length > IFNAMSIZ_MAX) throw new RangeError(`interface name too long: ${name}`);
  return name;
}
