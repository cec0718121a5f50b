/**
 * The north-south reference for bench/dataplane.ts: a Linux namespace router doing the NAT a
 * Neutron router does, DVR's way (iptables in a namespace, ip_forward on), on the sandbox's
 * physical network `public`:
 *
 *   VM namespace TAG-NAMEvm          router namespace TAG-NAME                fabric namespace
 *   eth0 10.X.0.2/24 (floating IP)   qr 10.X.0.1/24                          public bridge ── outside
 *        10.X.0.3/24 (SNAT only) ──  fg 203.0.113.S/24 (SNAT), .F/32 (FIP) ── TAGNAMEp
 *
 * The VM leg is either a veth straight into the router (`inner: 'veth'`) or, as DVR wires its
 * qr- ports, both ends on an Open vSwitch bridge (`inner: PlainNet`, the NORMAL bridge of the
 * plain baselines). Translations, as Neutron's L3 agent writes them:
 *   PREROUTING  -d F -j DNAT --to 10.X.0.2           (outside → floating IP)
 *   POSTROUTING -s 10.X.0.2 -o fg -j SNAT --to F     (the VM's own connections leave from F)
 *   POSTROUTING -s 10.X.0.0/24 -o fg -j SNAT --to S  (everyone else: the gateway address)
 * TX checksum offload is off on every end made here, as on the sandbox's veths. `close()`
 * removes exactly what was made (recorded before it is made).
 */
import type { OutsideInfo } from '../../src/sandbox/state.js';
import { sh, type PlainNet } from './dataplane-net.js';

export interface NatRouterOptions {
  /** Short name (namespaces TAG-NAME and TAG-NAMEvm; interface names stay ≤ 15 characters). */
  readonly name: string;
  readonly tag: string;
  readonly outside: OutsideInfo;
  /** Second octet of the inside subnet 10.X.0.0/24. */
  readonly subnet: number;
  /** Addresses on public (outside the external subnet's allocation pool). */
  readonly snatIp: string;
  readonly fipIp: string;
  readonly mtu: number;
  readonly inner: 'veth' | PlainNet;
}

/** The public network's prefix length and upstream router, from the sandbox's outside. */
function publicSide(o: OutsideInfo): { prefix: string; gateway: string } {
  const [gateway, prefix] = o.routerAddress.split('/');
  return { prefix, gateway };
}

export class NatRouter {
  readonly routerNs: string;
  readonly vmNs: string;
  /** The VM's address that has the floating IP, and the one that is only SNATed. */
  readonly fipVmIp: string;
  readonly snatVmIp: string;
  private readonly made: string[] = [];
  private readonly fabricLink: string;

  constructor(private readonly o: NatRouterOptions) {
    this.routerNs = `${o.tag}-${o.name}`;
    this.vmNs = `${o.tag}-${o.name}vm`;
    this.fabricLink = `${o.tag}${o.name}p`;
    this.fipVmIp = `10.${o.subnet}.0.2`;
    this.snatVmIp = `10.${o.subnet}.0.3`;
    if (this.fabricLink.length > 15) throw new Error(`interface name too long: ${this.fabricLink}`);
  }

  private async netns(name: string): Promise<void> {
    this.made.push(name);
    await sh('ip', ['netns', 'add', name]);
    await sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  }

  private async up(ns: string, dev: string, mtu: number): Promise<void> {
    await sh('ip', ['-n', ns, 'link', 'set', dev, 'mtu', String(mtu), 'up']);
    await sh('ethtool', ['-K', dev, 'tx', 'off'], ns);
  }

  async start(): Promise<void> {
    const { o } = this;
    const net = `10.${o.subnet}.0`;
    const pub = publicSide(o.outside);
    await this.netns(this.routerNs);
    // The VM and its leg.
    if (o.inner === 'veth') {
      await this.netns(this.vmNs);
      await sh('ip', ['-n', this.vmNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'qr', 'netns', this.routerNs]);
      await this.up(this.vmNs, 'eth0', o.mtu);
      await this.up(this.routerNs, 'qr', o.mtu);
    } else {
      this.made.push(this.vmNs); // PlainNet.vm makes it (and deletes it too; deleting twice is harmless)
      await o.inner.vm(`${o.name}vm`, `${net}.2/24`);
      await o.inner.plug(this.routerNs, 'qr', `${o.tag}${o.name}q`);
    }
    await sh('ip', ['-n', this.vmNs, 'addr', 'replace', `${net}.2/24`, 'dev', 'eth0']);
    await sh('ip', ['-n', this.vmNs, 'addr', 'add', `${net}.3/24`, 'dev', 'eth0']);
    await sh('ip', ['-n', this.vmNs, 'route', 'replace', 'default', 'via', `${net}.1`]);
    await sh('ip', ['-n', this.routerNs, 'addr', 'add', `${net}.1/24`, 'dev', 'qr']);
    // The leg on public: a veth whose other end joins the public bridge in the fabric namespace.
    await sh('ip', ['-n', this.routerNs, 'link', 'add', 'fg', 'type', 'veth', 'peer', 'name', this.fabricLink, 'netns', o.outside.fabricNetns]);
    await this.up(this.routerNs, 'fg', 1500);
    await sh('ethtool', ['-K', this.fabricLink, 'tx', 'off'], o.outside.fabricNetns);
    await sh('ip', ['-n', o.outside.fabricNetns, 'link', 'set', this.fabricLink, 'master', o.outside.bridge, 'up']);
    await sh('ip', ['-n', this.routerNs, 'addr', 'add', `${o.snatIp}/${pub.prefix}`, 'dev', 'fg']);
    await sh('ip', ['-n', this.routerNs, 'addr', 'add', `${o.fipIp}/32`, 'dev', 'fg']);
    await sh('ip', ['-n', this.routerNs, 'route', 'replace', 'default', 'via', pub.gateway]);
    await sh('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'], this.routerNs);
    const ipt = (...args: string[]): Promise<string> => sh('iptables', ['-w', '-t', 'nat', ...args], this.routerNs);
    await ipt('-A', 'PREROUTING', '-d', o.fipIp, '-j', 'DNAT', '--to-destination', this.fipVmIp);
    await ipt('-A', 'POSTROUTING', '-s', this.fipVmIp, '-o', 'fg', '-j', 'SNAT', '--to-source', o.fipIp);
    await ipt('-A', 'POSTROUTING', '-s', `${net}.0/24`, '-o', 'fg', '-j', 'SNAT', '--to-source', o.snatIp);
  }

  /** Remove what was made: the fabric end, then the namespaces (their interfaces go with them). */
  async close(): Promise<void> {
    await sh('ip', ['-n', this.o.outside.fabricNetns, 'link', 'delete', 'dev', this.fabricLink]).catch(() => undefined);
    for (const ns of this.made.reverse()) await sh('ip', ['netns', 'delete', ns]).catch(() => undefined);
    this.made.length = 0;
  }
}

/** True when iptables (with the nat table) can be used; the reason when not. */
export async function iptablesAvailable(): Promise<string | undefined> {
  try {
    await sh('iptables', ['--version']);
    return undefined;
  } catch (err) {
    return `iptables not usable (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): run scripts/setup-host.sh`;
  }
}
