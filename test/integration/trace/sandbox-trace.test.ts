/**
 * `wyvern sandbox trace` in a real sandbox (two chassis, the real server and controllers, VMs as
 * namespaces with DHCP addresses): vm1 on hv1 in blue, vm2 and vm3 on hv2 in red, router r1
 * between; vm2 in security group web (ingress tcp/22 only). The packet is built from the VMs'
 * addresses alone and traced with each chassis' own ovs-vswitchd socket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { run } from '../../../src/ovs/daemons.js';
import { WYVERN_COMMAND_ENV } from '../../../src/sandbox/launch.js';
import { up } from '../../../src/sandbox/sandbox.js';
import { SandboxState } from '../../../src/sandbox/state.js';
import { teardown } from '../../../src/sandbox/teardown.js';
import { sandboxTrace, type SandboxTraceOptions, type SandboxTraceResult } from '../../../src/sandbox/trace.js';
import { createVm, findVm } from '../../../src/sandbox/vm.js';
import { waitFor } from '../../support/neutron-client.js';

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

describe('wyvern sandbox trace', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-sandbox-trace-'));
  const dir = path.join(root, 'sb');
  let state: SandboxState;
  const ip: Record<string, string> = {};
  let gatewayBlue: string;

  beforeAll(async () => {
    delete process.env[WYVERN_COMMAND_ENV];
    state = await up({ dir, chassis: 2, apiPort: 0 });
    const api = `${state.data.apiUrl as string}/v2.0`;
    const net = async (name: string, cidr: string) => {
      const { network } = await call<{ network: { id: string } }>('POST', `${api}/networks`, { network: { name } });
      const { subnet } = await call<{ subnet: { id: string; gateway_ip: string } }>('POST', `${api}/subnets`, {
        subnet: { network_id: network.id, name: `${name}-v4`, ip_version: 4, cidr },
      });
      return subnet;
    };
    const blue = await net('blue', '10.81.0.0/24');
    const red = await net('red', '10.82.0.0/24');
    gatewayBlue = blue.gateway_ip;
    const { router } = await call<{ router: { id: string } }>('POST', `${api}/routers`, { router: { name: 'r1' } });
    for (const s of [blue, red]) await call('PUT', `${api}/routers/${router.id}/add_router_interface`, { subnet_id: s.id });
    const { security_group: web } = await call<{ security_group: { id: string } }>('POST', `${api}/security-groups`, { security_group: { name: 'web' } });
    await call('POST', `${api}/security-group-rules`, {
      security_group_rule: { security_group_id: web.id, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 },
    });
    for (const [name, network, chassis, groups] of [
      ['vm1', 'blue', 'hv1', []],
      ['vm2', 'red', 'hv2', ['web']],
      ['vm3', 'red', 'hv2', []],
    ] as const) {
      const { lease } = await createVm(state, { name, network, chassis, securityGroups: groups });
      ip[name] = (lease?.address ?? '').split('/')[0];
    }
  }, 240_000);

  afterAll(async () => {
    if (SandboxState.exists(dir)) await teardown(dir);
    rmSync(root, { recursive: true, force: true });
  });

  /** Traces until the story reaches hv2's verdict (the controllers converge meanwhile). */
  const trace = (o: Omit<SandboxTraceOptions, 'from'>, settled: (r: SandboxTraceResult) => boolean): Promise<SandboxTraceResult> =>
    waitFor(async () => {
      const r = await sandboxTrace(state, { from: 'vm1', ...o });
      return r.hops.length === 2 && settled(r) ? r : undefined;
    }, 60_000, `sandbox trace vm1 → ${o.toIp}`);

  it('traces vm1 on hv1 through router r1 and the tunnel to its delivery to vm3 on hv2, as the data plane does', async () => {
    const r = await trace({ toIp: ip.vm3 }, (x) => !x.story.dropped);
    const vm1 = findVm(state, 'vm1');
    expect(r.flow).toMatch(new RegExp(`^in_port=${vm1.hostLink},dl_src=${vm1.mac},dl_dst=[0-9a-f:]{17},icmp,nw_src=${ip.vm1},nw_dst=${ip.vm3},nw_ttl=64,icmp_type=8,icmp_code=0$`));
    expect(r.nextHop).toMatch(new RegExp(`^router interface ${gatewayBlue.replace(/\./g, '\\.')} `));
    expect(r.hops.map((h) => [h.chassis, h.appctlTarget])).toEqual([
      ['hv1', path.join(dir, 'hv1', 'ovs-vswitchd.ctl')],
      ['hv2', path.join(dir, 'hv2', 'ovs-vswitchd.ctl')],
    ]);
    expect(r.story.summary).toMatch(
      /^\[hv1\] port vm1 → network blue → allowed by security group default rule [0-9a-f]{8} \(egress IPv4 any\) → router r1 → network red → tunnel to hv2 \(198\.51\.100\.12\) → \[hv2\] network red → allowed by security group default rule [0-9a-f]{8} \(ingress IPv4 any with security group default\) → port vm3$/,
    );
    expect(r.story.destinations).toEqual(['[hv2] port vm3']);
    // The data plane agrees: vm1 pings vm3.
    const netns = vm1.netns;
    await waitFor(async () => {
      try {
        await run('ping', ['-c', '1', '-W', '1', ip.vm3], { netns });
        return true;
      } catch {
        return undefined;
      }
    }, 30_000, 'vm1 to ping vm3');
  });

  it('ends with the drop by security group web on hv2 for tcp/80; tcp/22 is delivered', async () => {
    const blocked = await trace({ toIp: ip.vm2, proto: { proto: 'tcp', port: 80 } }, (x) => /security group web/.test(x.story.summary));
    expect(blocked.flow).toContain(`tcp,nw_src=${ip.vm1},nw_dst=${ip.vm2},nw_ttl=64,tp_src=49152,tp_dst=80`);
    expect(blocked.story.dropped).toBe(true);
    expect(blocked.story.summary).toMatch(/→ router r1 → network red → tunnel to hv2 \(198\.51\.100\.12\) → \[hv2\] network red → dropped by security group web of port vm2 \(no rule matched\)$/);

    const allowed = await trace({ toIp: ip.vm2, proto: { proto: 'tcp', port: 22 } }, (x) => /security group web/.test(x.story.summary));
    expect(allowed.story.dropped).toBe(false);
    expect(allowed.story.summary).toMatch(/→ \[hv2\] network red → allowed by security group web rule [0-9a-f]{8} \(ingress IPv4 tcp 22-22\) → port vm2$/);
  });

  it('runs as `wyvern sandbox trace`: a header per chassis, exit 1 on the drop, --json', async () => {
    await trace({ toIp: ip.vm2, proto: { proto: 'tcp', port: 80 } }, (x) => /security group web/.test(x.story.summary));
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    let code: number;
    let jsonCode: number;
    let text: string;
    try {
      code = await main(['sandbox', 'trace', 'vm1', ip.vm2, 'tcp/80', '--dir', dir]);
      text = out.join('');
      out.length = 0;
      jsonCode = await main(['sandbox', 'trace', 'vm1', ip.vm3, '--json', '--dir', dir]);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(1);
    expect(text).toMatch(new RegExp(`^vm1 → ${ip.vm2.replace(/\./g, '\\.')}: in_port=`));
    expect(text).toContain('=== chassis hv1 (198.51.100.11) ===');
    expect(text).toContain('=== chassis hv2 (198.51.100.12), from hv1 through the tunnel ===');
    expect(text).toMatch(/\npath: \[hv1\] port vm1 → .* → \[hv2\] network red → dropped by security group web of port vm2 \(no rule matched\)\n$/);
    expect(jsonCode).toBe(0);
    const j = JSON.parse(out.join('')) as { packet: string; next_hop: string; dropped: boolean; hops: { chassis: string }[] };
    expect(j.packet).toContain(`nw_dst=${ip.vm3}`);
    expect(j.dropped).toBe(false);
    expect(j.hops.map((h) => h.chassis)).toEqual(['hv1', 'hv2']);
  });
});
