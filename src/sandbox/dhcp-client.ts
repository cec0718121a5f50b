/**
 * A real DHCP client for sandbox VMs: busybox `udhcpc` run inside the VM's namespace with an
 * event script (written to the sandbox dir) that applies the lease — address, MTU (option 26),
 * classless static routes (option 121, which per RFC 3442 take precedence over the router
 * option) or the default route — and writes it to a lease file we read back.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../ovs/daemons.js';
import type { SandboxState } from './state.js';

export const DHCP_SCRIPT = 'udhcpc.sh';
const LEASE_FILE_ENV = 'WYVERN_LEASE_FILE';

export class DhcpError extends Error {
  override readonly name = 'DhcpError';
}

export interface Lease {
  /** `A.B.C.D/LEN` */
  readonly address: string;
  readonly router?: string;
  readonly mtu?: number;
  readonly dns?: readonly string[];
  readonly domain?: string;
  readonly staticRoutes?: string;
}

export const UDHCPC_SCRIPT = `#!/bin/sh
# udhcpc event script written by 'wyvern sandbox': applies a lease inside a VM namespace.
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
case "$1" in
deconfig)
  ip -4 addr flush dev "$interface"
  ip link set dev "$interface" up
  ;;
bound|renew)
  if [ -n "$mtu" ]; then ip link set dev "$interface" mtu "$mtu"; fi
  ip -4 addr flush dev "$interface"
  ip addr add "$ip/\${mask:-$subnet}" dev "$interface" || exit 1
  if [ -n "$staticroutes" ]; then
    set -- $staticroutes
    while [ $# -ge 2 ]; do
      if [ "$2" = 0.0.0.0 ]; then ip route replace "$1" dev "$interface"
      else ip route replace "$1" via "$2" dev "$interface"; fi
      shift 2
    done
  elif [ -n "$router" ]; then
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
  fi
  if [ -n "$${LEASE_FILE_ENV}" ]; then
    {
      echo "ip=$ip"; echo "mask=\${mask:-$subnet}"; echo "router=$router"; echo "mtu=$mtu"
      echo "dns=$dns"; echo "domain=$domain"; echo "staticroutes=$staticroutes"
    } > "$${LEASE_FILE_ENV}"
  fi
  ;;
esac
exit 0
`;

/** Write the event script into the sandbox dir (recorded first); returns its path. */
export function writeDhcpScript(state: SandboxState): string {
  const file = path.join(state.dir, DHCP_SCRIPT);
  state.record({ kind: 'file', path: file });
  // VMs are often created in parallel: never rewrite the script under a running udhcpc (it
  // would read a truncated file, apply nothing and still exit 0). Write once, atomically.
  if (existsSync(file) && readFileSync(file, 'utf8') === UDHCPC_SCRIPT) return file;
  const tmp = `${file}.${process.pid}.${Math.random().toString(16).slice(2)}`;
  writeFileSync(tmp, UDHCPC_SCRIPT, { mode: 0o755 });
  renameSync(tmp, file);
  return file;
}

function maskToLength(mask: string): number {
  if (/^\d+$/.test(mask)) return Number(mask);
  return mask
    .split('.')
    .map((o) => Number(o).toString(2).replace(/0/g, '').length)
    .reduce((a, b) => a + b, 0);
}

export function parseLease(text: string): Lease {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const ip = kv.get('ip');
  const mask = kv.get('mask');
  if (!ip || !mask) throw new DhcpError(`incomplete lease: ${text.trim()}`);
  const opt = (k: string) => (kv.get(k) ? kv.get(k) : undefined);
  const mtu = opt('mtu');
  return {
    address: `${ip}/${maskToLength(mask)}`,
    router: opt('router')?.split(/\s+/)[0],
    mtu: mtu ? Number(mtu) : undefined,
    dns: opt('dns')?.split(/\s+/),
    domain: opt('domain'),
    staticRoutes: opt('staticroutes'),
  };
}

export interface DhcpClientOptions {
  readonly netns: string;
  readonly iface: string;
  readonly script: string;
  /** Where the script writes the lease (recorded by the caller). */
  readonly leaseFile: string;
  /** DISCOVERs to send, one a second. */
  readonly tries?: number;
}

/** Run udhcpc once in `netns` until it has a lease (or gives up); returns the lease. */
export async function runDhcpClient(o: DhcpClientOptions): Promise<Lease> {
  const tries = o.tries ?? 10;
  try {
    await run(
      'busybox',
      ['udhcpc', '-f', '-q', '-n', '-i', o.iface, '-t', String(tries), '-T', '1', '-A', '1',
        '-s', o.script, '-O', 'mtu', '-O', 'staticroutes'],
      { netns: o.netns, env: { ...process.env, [LEASE_FILE_ENV]: o.leaseFile }, timeoutMs: (tries + 10) * 1_000 },
    );
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new DhcpError(`no DHCP lease in ${o.netns} on ${o.iface}: ${(e.stderr ?? e.message).trim()}`);
  }
  try {
    return parseLease(readFileSync(o.leaseFile, 'utf8'));
  } catch (err) {
    if (err instanceof DhcpError) throw err;
    throw new DhcpError(`udhcpc wrote no lease to ${o.leaseFile}`);
  }
}
