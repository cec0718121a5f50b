/**
 * The real `openstack` client (python3-openstackclient) against `wyvern server` on sqlite.
 * Each client invocation costs a few seconds of Python start-up, so the lifecycle is compact.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
let server: ChildProcess | undefined;
let endpoint = '';
let dir = '';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function os_(...args: string[]): Promise<any> {
  const { stdout } = await run('openstack', ['--os-auth-type', 'none', '--os-endpoint', endpoint, ...args], { timeout: 60_000, env: { ...process.env, OS_CLOUD: '' } });
  return stdout.trim() === '' ? undefined : JSON.parse(stdout);
}

async function osFails(...args: string[]): Promise<string> {
  try {
    await run('openstack', ['--os-auth-type', 'none', '--os-endpoint', endpoint, ...args], { timeout: 60_000 });
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error(`openstack ${args.join(' ')} succeeded`);
}

describe('openstack CLI against wyvern server', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-cli-'));
    const root = path.resolve(import.meta.dirname, '../../..');
    // Own process group, so that stopping it also stops tsx's node child.
    server = spawn(path.join(root, 'node_modules/.bin/tsx'), ['src/cli/main.ts', 'server', '--listen', '127.0.0.1:0', '--store', `sqlite:${path.join(dir, 'nb.sqlite')}`], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    endpoint = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server!.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      process.kill(-server.pid!, 'SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('network create / show / set / list', async () => {
    const n = await os_('network', 'create', 'blue', '-f', 'json');
    expect(n).toMatchObject({ name: 'blue', status: 'ACTIVE', admin_state_up: true, mtu: 1442, shared: false, 'router:external': false, 'provider:network_type': 'geneve' });
    await os_('network', 'set', '--name', 'red', '--description', 'the red one', '--tag', 'demo', 'blue');
    const shown = await os_('network', 'show', 'red', '-f', 'json');
    expect(shown).toMatchObject({ id: n.id, name: 'red', description: 'the red one', tags: ['demo'] });
    expect(shown.revision_number).toBeGreaterThanOrEqual(2);
    const list = await os_('network', 'list', '-f', 'json');
    expect(list).toEqual([{ ID: n.id, Name: 'red', Subnets: [] }]);
  });

  it('subnet create and port create with a fixed IP; errors surface', async () => {
    const s = await os_('subnet', 'create', '--network', 'red', '--subnet-range', '10.0.0.0/24', 's1', '-f', 'json');
    expect(s).toMatchObject({ cidr: '10.0.0.0/24', gateway_ip: '10.0.0.1', ip_version: 4, enable_dhcp: true, allocation_pools: [{ start: '10.0.0.2', end: '10.0.0.254' }] });
    const p = await os_('port', 'create', '--network', 'red', '--fixed-ip', 'subnet=s1,ip-address=10.0.0.10', 'p1', '-f', 'json');
    expect(p).toMatchObject({ name: 'p1', status: 'DOWN', fixed_ips: [{ subnet_id: s.id, ip_address: '10.0.0.10' }] });
    expect(p.mac_address).toMatch(/^fa:16:3e:/);
    const dup = await osFails('port', 'create', '--network', 'red', '--fixed-ip', 'ip-address=10.0.0.10', 'p2');
    expect(dup).toMatch(/10\.0\.0\.10 is in use/);
    const ports = await os_('port', 'list', '--network', 'red', '-f', 'json');
    expect(ports).toHaveLength(1);
    expect(ports[0]).toMatchObject({ Name: 'p1', 'MAC Address': p.mac_address });
    const inUse = await osFails('network', 'delete', 'red');
    expect(inUse).toMatch(/ports still in use|NetworkInUse|Failed to delete/i);
  });

  it('delete everything', async () => {
    await os_('port', 'delete', 'p1');
    await os_('network', 'delete', 'red');
    expect(await os_('network', 'list', '-f', 'json')).toEqual([]);
    expect(await os_('subnet', 'list', '-f', 'json')).toEqual([]);
  });
});
