/**
 * Network namespaces and veth pairs, through iproute2. Every creator here records the thing in
 * the sandbox state before making it; every remover is idempotent.
 */
import { existsSync } from 'node:fs';
import { run } from '../ovs/daemons.js';
import type { SandboxState } from './state.js';

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

/** Create a namespace (recorded first) with its loopback up. */
export async function createNetns(state: SandboxState, name: string): Promise<void> {
  state.record({ kind: 'netns', name });
  if (!netnsExists(name)) await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Delete a namespace if it exists (its interfaces go with it). */
export async function deleteNetns(name: string): Promise<void> {
  if (!netnsExists(name)) return;
  await run('ip', ['netns', 'delete', name]);
}

export async function linkExists(netns: string, name: string): Promise<boolean> {
  if (!netnsExists(netns)) return false;
  try {
    await run('ip', ['-n', netns, 'link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Create a veth pair whose ends are born directly in their namespaces (they never appear in the
 * host namespace). Only the `a` end is recorded: deleting it deletes its peer.
 */
export async function createVeth(
  state: SandboxState,
  a: { readonly netns: string; readonly name: string },
  b: { readonly netns: string; readonly name: string },
): Promise<void> {
  state.record({ kind: 'link', name: a.name, netns: a.netns });
  if (await linkExists(a.netns, a.name)) return;
  await run('ip', ['-n', a.netns, 'link', 'add', a.name, 'type', 'veth', 'peer', 'name', b.name, 'netns', b.netns]);
}

export async function deleteLink(netns: string, name: string): Promise<void> {
  if (!(await linkExists(netns, name))) return;
  await run('ip', ['-n', netns, 'link', 'delete', 'dev', name]);
}

/** `ip -n NETNS ARGS...` */
export function ipIn(netns: string, ...args: string[]): Promise<string> {
  return run('ip', ['-n', netns, ...args]);
}

/** Turn TX checksum offload off (the userspace datapath forwards partial checksums unfixed). */
export async function txOffloadOff(netns: string, iface: string): Promise<void> {
  await run('ethtool', ['-K', iface, 'tx', 'off'], { netns });
}

/** IPv4 addresses (CIDR) of an interface inside a namespace. */
export async function ipv4Addresses(netns: string, iface: string): Promise<string[]> {
  if (!netnsExists(netns)) return [];
  try {
    const out = await run('ip', ['-n', netns, '-j', '-4', 'addr', 'show', 'dev', iface]);
    const parsed = JSON.parse(out) as { addr_info?: { local: string; prefixlen: number }[] }[];
    return parsed.flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
  } catch {
    return [];
  }
}
