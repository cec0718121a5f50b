/**
 * Security groups end to end (sqlite, 3 chassis, real OVS, real packets). Every "blocked" check
 * stands beside a control that the same path carries the allowed case, so silence means
 * "dropped by the filter", not "nothing was sent".
 *
 * Topology: net sga 10.7.0.0/24 and net sgb 10.8.0.0/24 joined by router r.
 *   srv  hv1 sga  [web]     web: ingress tcp 5200-5210, udp 7000-7001, icmp echo-request from
 *                           10.7.0.0/24 (stateful; and Neutron's default egress rules)
 *   cli  hv2 sga  [client]  client: egress only (no ingress rule)
 *   far  hv3 sgb  [client]
 *   dbv  hv1 sga  [db]      db: ingress tcp 5432 from members of `app`
 *   d1   hv2 sga  [default], d2 hv3 sga [default]
 *   opn  hv3 sga  port security off
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVm, findVm } from '../../../src/sandbox/vm.js';
import { eventually, exec, restartController, startCloud, vmIp, type Cloud } from './helpers.js';

interface Rule {
  direction: 'ingress' | 'egress';
  protocol?: string;
  port_range_min?: number;
  port_range_max?: number;
  remote_ip_prefix?: string;
  remote_group_id?: string;
}

/** TCP/UDP servers in a VM: TCP accepts and echoes, UDP echoes; prints "ready" once bound. */
const SERVERS_PY = `
import socket, sys, threading
def tcp(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', port)); s.listen(16)
    while True:
        c, _ = s.accept()
        def serve(c):
            while True:
                b = c.recv(65536)
                if not b: break
                c.sendall(b)
            c.close()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', port))
    while True:
        b, a = s.recvfrom(2048); s.sendto(b, a)
for spec in sys.argv[1:]:
    proto, port = spec.split(':')
    threading.Thread(target=tcp if proto == 'tcp' else udp, args=(int(port),), daemon=True).start()
import time; time.sleep(0.3); print('ready', flush=True)
threading.Event().wait()
`;

/** Exit 0 when a TCP connection to argv[1]:argv[2] echoes within 2 s. */
const TCP_PROBE_PY = `
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2); c.sendall(b'hi'); ok = c.recv(2) == b'hi'
except OSError: ok = False
sys.exit(0 if ok else 1)
`;

/** Exit 0: echoed; 3: ICMP port unreachable came back (ECONNREFUSED); 1: nothing within 2 s. */
const UDP_PROBE_PY = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); s.connect((sys.argv[1], int(sys.argv[2])))
try:
    s.send(b'hi'); s.recv(16); sys.exit(0)
except ConnectionRefusedError: sys.exit(3)
except OSError: sys.exit(1)
`;

/** Sends argv[2] bytes to argv[1]:5205 slowly (64 KiB every 50 ms), reads the echo back; prints both digests. */
const SLOW_TRANSFER_PY = `
import hashlib, os, socket, sys, threading, time
data = os.urandom(int(sys.argv[2])); c = socket.create_connection((sys.argv[1], 5205), timeout=30)
got = hashlib.sha256(); n = [0]
def rd():
    while n[0] < len(data):
        b = c.recv(65536)
        if not b: break
        got.update(b); n[0] += len(b)
t = threading.Thread(target=rd); t.start()
for i in range(0, len(data), 65536):
    c.sendall(data[i:i + 65536]); time.sleep(0.05)
t.join(30); c.close()
print(hashlib.sha256(data).hexdigest(), got.hexdigest(), n[0])
`;

describe('end to end: security groups', () => {
  let cloud: Cloud;
  const servers: ChildProcess[] = [];
  const groups: Record<string, string> = {};
  const ruleIds: Record<string, string> = {};

  const api = <T>(method: string, p: string, body?: unknown): Promise<T> => cloud.api.call<T>(method, p, body);
  const st = () => cloud.state;
  const ip = (vm: string): string => vmIp(st(), vm);

  async function group(name: string, rules: Rule[], stateful = true): Promise<string> {
    const { security_group: g } = await api<{ security_group: { id: string } }>('POST', '/v2.0/security-groups', {
      security_group: { name, stateful },
    });
    for (const r of rules) await addRule(g.id, r);
    groups[name] = g.id;
    return g.id;
  }

  async function addRule(groupId: string, r: Rule): Promise<string> {
    const { security_group_rule: rule } = await api<{ security_group_rule: { id: string } }>('POST', '/v2.0/security-group-rules', {
      security_group_rule: { security_group_id: groupId, ethertype: 'IPv4', ...r },
    });
    return rule.id;
  }

  async function portOf(vm: string): Promise<string> {
    return findVm(st(), vm).portId;
  }

  async function startServers(vm: string, specs: string[]): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', findVm(st(), vm).netns, 'python3', '-c', SERVERS_PY, ...specs], { stdio: ['ignore', 'pipe', 'pipe'] });
    servers.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await eventually(() => out.includes('ready') || child.exitCode !== null, `servers in ${vm}`, 10_000, 20);
    if (child.exitCode !== null) throw new Error(`servers in ${vm} exited`);
  }

  const tcpOk = async (from: string, to: string, port: number): Promise<boolean> =>
    (await exec(st(), from, ['python3', '-c', TCP_PROBE_PY, ip(to), String(port)], 10_000)).code === 0;
  const udpProbe = async (from: string, to: string, port: number): Promise<number> =>
    (await exec(st(), from, ['python3', '-c', UDP_PROBE_PY, ip(to), String(port)], 10_000)).code;
  /** One ping, 1 s timeout. */
  const ping1 = async (from: string, to: string): Promise<boolean> =>
    (await exec(st(), from, ['ping', '-n', '-c', '1', '-W', '1', ip(to)])).code === 0;

  beforeAll(async () => {
    cloud = await startCloud('sqlite');
    const a = await cloud.api.network('sga', '10.7.0.0/24');
    const b = await cloud.api.network('sgb', '10.8.0.0/24');
    const { router } = await api<{ router: { id: string } }>('POST', '/v2.0/routers', { router: { name: 'r' } });
    for (const s of [a.subnetId, b.subnetId]) await api('PUT', `/v2.0/routers/${router.id}/add_router_interface`, { subnet_id: s });
    await group('web', [
      { direction: 'ingress', protocol: 'tcp', port_range_min: 5200, port_range_max: 5210 },
      { direction: 'ingress', protocol: 'udp', port_range_min: 7000, port_range_max: 7001 },
    ]);
    ruleIds.echoFromA = await addRule(groups.web, { direction: 'ingress', protocol: 'icmp', port_range_min: 8, remote_ip_prefix: '10.7.0.0/24' });
    await group('client', []);
    await group('app', []);
    await group('db', []);
    await addRule(groups.db, { direction: 'ingress', protocol: 'tcp', port_range_min: 5432, port_range_max: 5432, remote_group_id: groups.app });
    const vm = (name: string, network: string, chassis: string, securityGroups?: string[]) =>
      createVm(st(), { name, network, chassis, ...(securityGroups ? { securityGroups } : {}) });
    await Promise.all([
      vm('srv', 'sga', 'hv1', ['web']),
      vm('cli', 'sga', 'hv2', ['client']),
      vm('far', 'sgb', 'hv3', ['client']),
    ]);
    await Promise.all([vm('dbv', 'sga', 'hv1', ['db']), vm('d1', 'sga', 'hv2'), vm('d2', 'sga', 'hv3'), vm('opn', 'sga', 'hv3', ['client'])]);
    await api('PUT', `/v2.0/ports/${await portOf('opn')}`, { port: { security_groups: [], port_security_enabled: false } });
    await startServers('srv', ['tcp:5205', 'tcp:5209', 'tcp:5300', 'udp:7000']);
    await startServers('dbv', ['tcp:5432']);
    await eventually(() => ping1('cli', 'srv'), 'cli to ping srv');
  }, 300_000);

  afterAll(async () => {
    for (const s of servers) if (s.exitCode === null) s.kill('SIGTERM');
    await cloud?.close();
  }, 120_000);

  it('allows by protocol and port range; other ports are dropped', async () => {
    expect(await tcpOk('cli', 'srv', 5205), 'tcp 5205 (in 5200-5210)').toBe(true);
    expect(await tcpOk('cli', 'srv', 5209), 'tcp 5209 (in 5200-5210)').toBe(true);
    expect(await tcpOk('cli', 'srv', 5300), 'tcp 5300 (no rule)').toBe(false);
    expect(await udpProbe('cli', 'srv', 7000), 'udp 7000 echoed').toBe(0);
    // Control for the 5300 check: the same server port answers with the filter off.
    await api('PUT', `/v2.0/ports/${await portOf('srv')}`, { port: { security_groups: [], port_security_enabled: false } });
    await eventually(() => tcpOk('cli', 'srv', 5300), 'tcp 5300 with port security off', 10_000);
    await api('PUT', `/v2.0/ports/${await portOf('srv')}`, { port: { port_security_enabled: true, security_groups: [groups.web] } });
    await eventually(async () => !(await tcpOk('cli', 'srv', 5300)), 'tcp 5300 dropped again', 10_000);
  });

  it('ICMP errors related to an allowed connection come back (udp 7001: allowed, nothing listens)', async () => {
    // cli has no ingress rule: only conntrack's "related" lets the port unreachable through.
    expect(await udpProbe('cli', 'srv', 7001)).toBe(3);
  });

  it('allows ICMP by type and remote prefix; replies need no ingress rule; nothing unsolicited arrives', async () => {
    expect(await ping1('cli', 'srv'), 'echo request from 10.7.0.0/24 (cli has no ingress rule: the reply is a reply)').toBe(true);
    expect(await ping1('far', 'srv'), 'echo request from 10.8.0.0/24').toBe(false);
    expect(await tcpOk('far', 'srv', 5205), 'control: far reaches srv through the router on an allowed port').toBe(true);
    expect(await ping1('srv', 'cli'), 'cli allows no ingress').toBe(false);
    expect(await ping1('srv', 'opn'), 'control: the same ping to a port without port security').toBe(true);
  });

  it('the default group: members reach each other, others do not', async () => {
    expect(await ping1('d1', 'd2')).toBe(true);
    expect(await ping1('d2', 'd1')).toBe(true);
    expect(await ping1('cli', 'd1'), 'cli is not in default').toBe(false);
    expect(await tcpOk('d1', 'srv', 5205), 'control: d1 itself can reach out').toBe(true);
  });

  it('a port joining a remote group gains access, leaving loses it', async () => {
    const cliPort = await portOf('cli');
    expect(await tcpOk('cli', 'dbv', 5432)).toBe(false);
    await api('PUT', `/v2.0/ports/${cliPort}`, { port: { security_groups: [groups.client, groups.app] } });
    await eventually(() => tcpOk('cli', 'dbv', 5432), 'cli (now in app) to reach db', 10_000);
    await api('PUT', `/v2.0/ports/${cliPort}`, { port: { security_groups: [groups.client] } });
    await eventually(async () => !(await tcpOk('cli', 'dbv', 5432)), 'cli (out of app) to lose db', 10_000);
  });

  it('a rule added opens a running ping; deleted, it stops within 1 s and other connections go on', async () => {
    const ns = findVm(st(), 'far').netns;
    const running = spawn('ip', ['netns', 'exec', ns, 'ping', '-D', '-n', '-i', '0.1', '-W', '1', ip('srv')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const control = spawn('ip', ['netns', 'exec', findVm(st(), 'cli').netns, 'ping', '-D', '-n', '-i', '0.1', ip('srv')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let controlOut = '';
    running.stdout.on('data', (d: Buffer) => (out += d.toString()));
    control.stdout.on('data', (d: Buffer) => (controlOut += d.toString()));
    const replies = (text: string): number[] =>
      [...text.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000);
    try {
      await new Promise((r) => setTimeout(r, 1_000));
      expect(replies(out), 'no reply before the rule').toEqual([]);
      const id = await addRule(groups.web, { direction: 'ingress', protocol: 'icmp', remote_ip_prefix: '10.8.0.0/24' });
      await eventually(() => replies(out).length >= 3, 'replies once the rule is there', 10_000);
      const deletedAt = Date.now();
      await api('DELETE', `/v2.0/security-group-rules/${id}`);
      await new Promise((r) => setTimeout(r, 2_500));
      const after = replies(out).filter((t) => t > deletedAt);
      const last = after.length > 0 ? Math.max(...after) - deletedAt : 0;
      expect(last, `last reply ${last} ms after the delete`).toBeLessThan(1_000);
      // cli's ping (allowed by the 10.7.0.0/24 rule) never stopped.
      const c = replies(controlOut).filter((t) => t > deletedAt);
      expect(c.length, 'the other connection kept going').toBeGreaterThanOrEqual(15);
    } finally {
      running.kill('SIGINT');
      control.kill('SIGINT');
    }
  });

  it('a stateless group: no conntrack, each direction passes by its own rules', async () => {
    // A stateless group: no conntrack, so replies need their own rule.
    const sl = await group('stateless', [{ direction: 'ingress', protocol: 'icmp' }], false);
    await api('PUT', `/v2.0/ports/${await portOf('d2')}`, { port: { security_groups: [sl] } });
    // d2 stateless: its echo replies leave by the default egress rule, echo requests come in by the rule.
    await eventually(() => ping1('d1', 'd2'), 'd1 to ping stateless d2', 10_000);
    // d2 pings d1 (default group, stateful; d2 not a member): d1 drops it.
    expect(await ping1('d2', 'd1')).toBe(false);
    await api('PUT', `/v2.0/ports/${await portOf('d2')}`, { port: { security_groups: [groups.client] } });
    // Stateful client on d2 (no ingress): the echo request from d1 is dropped now.
    await eventually(async () => !(await ping1('d1', 'd2')), 'd1 no longer reaches d2', 10_000);
  });

  it('a controller restart keeps an established TCP transfer (checksummed)', async () => {
    const transfer = exec(st(), 'cli', ['python3', '-c', SLOW_TRANSFER_PY, ip('srv'), String(6 * 1024 * 1024)], 60_000);
    await new Promise((r) => setTimeout(r, 1_000));
    await restartController(st(), 'hv1');
    await restartController(st(), 'hv2');
    const r = await transfer;
    expect(r.code, r.stderr).toBe(0);
    const [sent, got, n] = r.stdout.trim().split(' ');
    expect(Number(n)).toBe(6 * 1024 * 1024);
    expect(got).toBe(sent);
  });
});
