/**
 * The topology page in a real headless Chromium (Debian's, driven by playwright-core): it shows
 * the networks, the router, the VMs and the chassis they run on, in the graph and in the list;
 * a port created through the API appears within a second without a reload; the search box
 * filters; the page needs credentials for its own endpoints.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chassisKey } from '../../../src/model/chassis.js';
import { NeutronApi } from '../../../src/server/app.js';
import { makeAuthenticator } from '../../../src/server/auth.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { uiHandler } from '../../../src/ui/handler.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const H = { 'content-type': 'application/json', 'x-project-id': 'demo', 'x-roles': 'admin' };

describe.skipIf(!existsSync(CHROMIUM))('topology page in Chromium', () => {
  let store: MemoryStore;
  let url: string;
  let close: () => void;
  let browser: Browser;
  const ids: Record<string, string> = {};

  const post = async (kind: string, body: Record<string, unknown>, plural = `${kind}s`): Promise<Record<string, unknown>> => {
    const res = await fetch(`${url}/v2.0/${plural}`, { method: 'POST', headers: H, body: JSON.stringify({ [kind]: body }) });
    expect(res.status).toBe(201);
    return ((await res.json()) as Record<string, Record<string, unknown>>)[kind];
  };

  beforeAll(async () => {
    store = new MemoryStore();
    const api = new NeutronApi(store, { onError: () => {} });
    api.addPreHandler(uiHandler({ store, auth: makeAuthenticator(api.config) }));
    const l = await api.listen('127.0.0.1', 0);
    url = l.url;
    close = () => {
      l.server.closeAllConnections();
      l.server.close();
    };
    for (const name of ['hv1', 'hv2']) {
      await store.txn({ compare: [], success: [{ type: 'put', key: chassisKey(name), value: JSON.stringify({ name, tunnel_ip: '192.0.2.1', gateway: false, version: 't' }) }] });
    }
    const blue = await post('network', { name: 'blue' });
    const red = await post('network', { name: 'red' });
    const blueSub = await post('subnet', { network_id: blue.id, cidr: '10.1.0.0/24', ip_version: 4 });
    const redSub = await post('subnet', { network_id: red.id, cidr: '10.2.0.0/24', ip_version: 4 });
    const r1 = await post('router', { name: 'r1' });
    for (const s of [blueSub, redSub]) {
      const res = await fetch(`${url}/v2.0/routers/${String(r1.id)}/add_router_interface`, { method: 'PUT', headers: H, body: JSON.stringify({ subnet_id: s.id }) });
      expect(res.status).toBe(200);
    }
    ids.blue = blue.id as string;
    ids.vm1 = (await post('port', { network_id: blue.id, name: 'vm1', device_owner: 'compute:nova', 'binding:host_id': 'hv1' })).id as string;
    ids.vm2 = (await post('port', { network_id: red.id, name: 'vm2', device_owner: 'compute:nova', 'binding:host_id': 'hv2' })).id as string;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    close?.();
    await store?.close();
  });

  it('shows networks, router, VMs and chassis; a new port appears within a second; search filters', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // noauth without a project: the default project, admin (what the sandbox's user is), who
    // sees bindings (binding:host_id is admin-only), hence which VM runs where.
    await page.goto(`${url}/ui/`);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 });
    // (Browser-side code as strings: this project's TypeScript has no DOM types.)
    const names = async (kind: string): Promise<string[]> =>
      page.evaluate<string[]>(`[...document.querySelectorAll('#list li[data-kind="${kind}"]')].map((e) => e.innerText)`);
    expect((await names('network')).join('\n')).toMatch(/blue[\s\S]*red|red[\s\S]*blue/);
    expect(await names('router')).toEqual([expect.stringContaining('r1')]);
    const ports = (await names('port')).join('\n');
    expect(ports).toContain('vm1');
    expect(ports).toContain('vm2');
    const chassis = await names('chassis');
    expect(chassis).toEqual([expect.stringMatching(/up hv1 VMs: vm1/), expect.stringMatching(/up hv2 VMs: vm2/)]);
    // The graph: 2 networks, 1 router, 2 VMs, 2 chassis; the router joined to both networks.
    const graph = await page.evaluate<{ nodes: number; edges: number; canvas: number }>(`(() => {
      const cy = document.getElementById('graph')._cyreg.cy;
      return { nodes: cy.nodes().length, edges: cy.edges().length, canvas: document.querySelectorAll('#graph canvas').length };
    })()`);
    expect(graph.nodes).toBe(7);
    expect(graph.edges).toBe(2 /* router–networks */ + 2 /* vm–network */ + 2 /* vm–chassis */);
    expect(graph.canvas).toBeGreaterThan(0);

    // Live: a port created through the API shows up without a reload.
    const t0 = Date.now();
    const created = await post('port', { network_id: ids.blue, name: 'vm3', device_owner: 'compute:nova', 'binding:host_id': 'hv2' });
    await page.waitForSelector(`#list li[data-id="${String(created.id)}"]`, { timeout: 1_000 });
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(1_000);
    expect(await names('chassis')).toEqual([expect.stringMatching(/hv1 VMs: vm1$/), expect.stringMatching(/hv2 VMs: vm2, vm3$|hv2 VMs: vm3, vm2$/)]);

    await page.fill('#search', 'vm3');
    const visible = await page.evaluate<string[]>(`[...document.querySelectorAll('#list li:not([hidden])')].map((e) => e.dataset.id)`);
    expect(visible).toContain(String(created.id));
    expect(visible).not.toContain(ids.vm1);
    await page.screenshot({ path: '/tmp/wyvern-ui.png' });
    expect(errors).toEqual([]);

    // Another project sees none of it: the page reads through the API's policy.
    const other = await browser.newPage();
    await other.goto(`${url}/ui/?project=someone-else`);
    await other.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 });
    expect(await other.evaluate<number>(`document.querySelectorAll('#list li[data-kind="port"]').length`)).toBe(0);
    await other.close();
    process.stderr.write(`port created through the API appeared on the page after ${ms} ms\n`);
  });

  it('its endpoints need credentials the API accepts', async () => {
    // noauth: any request is someone (the default project); the page itself is static.
    expect((await fetch(`${url}/ui/`)).headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(`${url}/ui/vendor/cytoscape.min.js`)).status).toBe(200);
    expect((await fetch(`${url}/ui`, { redirect: 'manual' })).status).toBe(301);
    expect((await fetch(`${url}/ui/nope`)).status).toBe(404);
    const c = (await (await fetch(`${url}/ui/api/chassis?project=demo`)).json()) as { chassis: { name: string; alive: boolean }[] };
    expect(c.chassis.map((x) => [x.name, x.alive])).toEqual([['hv1', true], ['hv2', true]]);
  });
});

describe('topology page with keystone', () => {
  it('refuses the chassis and events endpoints without a valid token', async () => {
    const store = new MemoryStore();
    // Keystone that cannot be reached: every token is refused.
    const api = new NeutronApi(store, { onError: () => {}, config: { auth: 'keystone', keystone: { url: 'http://127.0.0.1:9/v3' } } });
    api.addPreHandler(uiHandler({ store, auth: makeAuthenticator(api.config) }));
    const { server, url } = await api.listen('127.0.0.1', 0);
    try {
      expect((await fetch(`${url}/ui/api/chassis`)).status).toBe(401);
      expect((await fetch(`${url}/ui/api/events?token=bogus`)).status).toBe(401);
      expect((await fetch(`${url}/ui/`)).status).toBe(200);
    } finally {
      server.closeAllConnections();
      server.close();
      await store.close();
    }
  });
});
