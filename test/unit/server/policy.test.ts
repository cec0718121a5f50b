import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeServer, expectFault, startApi, type Harness } from './helpers.js';

const P1 = { project: 'p1' };
const P2 = { project: 'p2' };
const ADMIN = { project: 'adm', admin: true };

describe('policy across projects (noauth)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startApi({ config: { defaultProject: 'dflt', noauthDefaultAdmin: false } });
  });
  afterEach(() => h.close());

  it('a project sees and changes only its own resources; admin sees all', async () => {
    const n1 = (await h.req('POST', '/v2.0/networks', { network: { name: 'n1' } }, P1)).body.network;
    const n2 = (await h.req('POST', '/v2.0/networks', { network: { name: 'n2' } }, P2)).body.network;
    expect(n1.project_id).toBe('p1');
    expect((await h.req('GET', '/v2.0/networks', undefined, P1)).body.networks.map((n: { name: string }) => n.name)).toEqual(['n1']);
    expect((await h.req('GET', '/v2.0/networks', undefined, ADMIN)).body.networks).toHaveLength(2);
    expectFault(await h.req('GET', `/v2.0/networks/${n2.id}`, undefined, P1), 404, 'NetworkNotFound');
    expectFault(await h.req('PUT', `/v2.0/networks/${n2.id}`, { network: { name: 'x' } }, P1), 404, 'NetworkNotFound');
    expectFault(await h.req('DELETE', `/v2.0/networks/${n2.id}`, undefined, P1), 404, 'NetworkNotFound');
    expectFault(await h.req('POST', '/v2.0/subnets', { subnet: { network_id: n2.id, ip_version: 4, cidr: '10.0.0.0/24' } }, P1), 404, 'NetworkNotFound');
    expectFault(await h.req('POST', '/v2.0/ports', { port: { network_id: n2.id } }, P1), 404, 'NetworkNotFound');
    expectFault(await h.req('PUT', `/v2.0/networks/${n2.id}/tags`, { tags: ['a'] }, P1), 404, 'NetworkNotFound');
    // Admin acts on anybody's resources and may create for another project.
    expect((await h.req('PUT', `/v2.0/networks/${n2.id}`, { network: { name: 'renamed' } }, ADMIN)).status).toBe(200);
    expect((await h.req('POST', '/v2.0/networks', { network: { project_id: 'p1', name: 'given' } }, ADMIN)).body.network.project_id).toBe('p1');
    // No header: the default project, not admin here.
    expect((await h.req('POST', '/v2.0/networks', { network: {} })).body.network.project_id).toBe('dflt');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { shared: true } }), 403, 'PolicyNotAuthorized');
  });

  it('shared networks are usable by every project; external networks visible to all, their subnets not', async () => {
    const shared = (await h.req('POST', '/v2.0/networks', { network: { name: 'shared', shared: true } }, ADMIN)).body.network;
    const ext = (await h.req('POST', '/v2.0/networks', { network: { name: 'ext', 'router:external': true } }, ADMIN)).body.network;
    await h.req('POST', '/v2.0/subnets', { subnet: { network_id: shared.id, ip_version: 4, cidr: '10.0.0.0/24' } }, ADMIN);
    await h.req('POST', '/v2.0/subnets', { subnet: { network_id: ext.id, ip_version: 4, cidr: '172.24.4.0/24' } }, ADMIN);
    const seen = (await h.req('GET', '/v2.0/networks?sort_key=name', undefined, P1)).body.networks.map((n: { name: string }) => n.name);
    expect(seen).toEqual(['ext', 'shared']);
    // The subnets of a network that is external but not shared stay hidden (tempest's
    // test_external_network_visibility); the network itself lists them by id.
    expect((await h.req('GET', '/v2.0/subnets', undefined, P1)).body.subnets.map((x: { network_id: string }) => x.network_id)).toEqual([shared.id]);
    expect((await h.req('GET', `/v2.0/networks/${ext.id}`, undefined, P1)).body.network.subnets).toHaveLength(1);
    const p = await h.req('POST', '/v2.0/ports', { port: { network_id: shared.id } }, P1);
    expect(p.status).toBe(201);
    expect(p.body.port.project_id).toBe('p1');
    expectFault(await h.req('POST', '/v2.0/ports', { port: { network_id: ext.id } }, P1), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('POST', '/v2.0/ports', { port: { network_id: shared.id, fixed_ips: [{ ip_address: '10.0.0.9' }] } }, P1), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('POST', '/v2.0/subnets', { subnet: { network_id: shared.id, ip_version: 4, cidr: '10.9.0.0/24' } }, P1), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('PUT', `/v2.0/networks/${shared.id}`, { network: { name: 'mine' } }, P1), 403, 'PolicyNotAuthorized');
    // Ports of p1 are invisible to p2, visible to the network owner (admin here) and p1.
    expect((await h.req('GET', '/v2.0/ports', undefined, P2)).body.ports).toHaveLength(0);
    expect((await h.req('GET', '/v2.0/ports', undefined, P1)).body.ports).toHaveLength(1);
    expectFault(await h.req('GET', `/v2.0/ports/${p.body.port.id}`, undefined, P2), 404, 'PortNotFound');
    // Unsharing while another project uses it is refused; admin-only attributes are hidden.
    expectFault(await h.req('PUT', `/v2.0/networks/${shared.id}`, { network: { shared: false } }, ADMIN), 409, 'InvalidSharedSetting');
    const asP1 = (await h.req('GET', `/v2.0/networks/${shared.id}`, undefined, P1)).body.network;
    expect(asP1['provider:network_type']).toBeUndefined();
    expect((await h.req('GET', `/v2.0/ports/${p.body.port.id}`, undefined, P1)).body.port['binding:host_id']).toBeUndefined();
  });

  it("a network's owner may delete other projects' ports on it, not update them; others may not delete", async () => {
    const net = (await h.req('POST', '/v2.0/networks', { network: { name: 'mine', shared: true } }, ADMIN)).body.network;
    const owned = (await h.req('POST', '/v2.0/networks', { network: { name: 'p2net' } }, P2)).body.network;
    await h.req('PUT', `/v2.0/networks/${owned.id}`, { network: { shared: true } }, ADMIN);
    const port = (await h.req('POST', '/v2.0/ports', { port: { network_id: owned.id } }, P1)).body.port;
    expectFault(await h.req('PUT', `/v2.0/ports/${port.id}`, { port: { name: 'x' } }, P2), 403, 'PolicyNotAuthorized');
    expect((await h.req('DELETE', `/v2.0/ports/${port.id}`, undefined, P2)).status).toBe(204);
    const other = (await h.req('POST', '/v2.0/ports', { port: { network_id: net.id } }, P1)).body.port;
    expectFault(await h.req('DELETE', `/v2.0/ports/${other.id}`, undefined, P2), 404, 'PortNotFound');
  });

  it('subnets filter on shared (their network\'s), without showing it', async () => {
    const shared = (await h.req('POST', '/v2.0/networks', { network: { name: 's', shared: true } }, ADMIN)).body.network;
    const own = (await h.req('POST', '/v2.0/networks', { network: { name: 'o' } }, P1)).body.network;
    const a = (await h.req('POST', '/v2.0/subnets', { subnet: { network_id: shared.id, ip_version: 4, cidr: '10.0.0.0/24' } }, ADMIN)).body.subnet;
    const b = (await h.req('POST', '/v2.0/subnets', { subnet: { network_id: own.id, ip_version: 4, cidr: '10.1.0.0/24' } }, P1)).body.subnet;
    const ids = async (q: string, as = P1): Promise<string[]> => (await h.req('GET', `/v2.0/subnets?${q}`, undefined, as)).body.subnets.map((x: { id: string }) => x.id);
    expect(await ids('shared=True')).toEqual([a.id]);
    expect(await ids('shared=false')).toEqual([b.id]);
    expect(await ids('shared=true', ADMIN)).toEqual([a.id]);
    expect(a.shared).toBeUndefined();
    expectFault(await h.req('POST', '/v2.0/subnets', { subnet: { network_id: own.id, ip_version: 4, cidr: '10.2.0.0/24', shared: true } }, P1), 400, 'HTTPBadRequest');
  });

  it('reader role cannot write', async () => {
    expectFault(await h.req('POST', '/v2.0/networks', { network: {} }, { project: 'p1', roles: 'reader' }), 403, 'PolicyNotAuthorized');
    expect((await h.req('GET', '/v2.0/networks', undefined, { project: 'p1', roles: 'reader' })).status).toBe(200);
  });
});

describe('keystone auth', () => {
  let ks: Server;
  let ksUrl: string;
  let validations = 0;
  const tokens: Record<string, { project: string; roles: string[]; expires: string }> = {};

  beforeEach(async () => {
    validations = 0;
    const future = new Date(Date.now() + 3600_000).toISOString();
    tokens['tok-member'] = { project: 'p1', roles: ['member', 'reader'], expires: future };
    tokens['tok-admin'] = { project: 'adm', roles: ['admin'], expires: future };
    tokens['tok-reader'] = { project: 'p1', roles: ['reader'], expires: future };
    tokens['tok-expired'] = { project: 'p1', roles: ['member'], expires: new Date(Date.now() - 1000).toISOString() };
    ks = createServer((req, res) => {
      validations++;
      const subject = req.headers['x-subject-token'] as string;
      const t = tokens[subject];
      if (req.url !== '/v3/auth/tokens' || !req.headers['x-auth-token'] || !t || Date.parse(t.expires) < Date.now()) {
        res.statusCode = 404;
        res.end('{"error": {"code": 404}}');
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('X-Subject-Token', subject);
      res.end(JSON.stringify({ token: { expires_at: t.expires, project: { id: t.project, name: t.project }, roles: t.roles.map((name) => ({ id: name, name })), user: { id: 'u' } } }));
    });
    await new Promise<void>((r) => ks.listen(0, '127.0.0.1', () => r()));
    ksUrl = `http://127.0.0.1:${(ks.address() as AddressInfo).port}`;
  });
  afterEach(() => closeServer(ks));

  it('validates X-Auth-Token against /v3/auth/tokens, caches it, maps roles', async () => {
    const h = await startApi({ config: { auth: 'keystone', keystone: { url: ksUrl } } });
    try {
      const as = (token?: string): { headers: Record<string, string> } => ({ headers: token ? { 'X-Auth-Token': token } : {} });
      expectFault(await h.req('GET', '/v2.0/networks', undefined, as()), 401, 'HTTPUnauthorized');
      expectFault(await h.req('GET', '/v2.0/networks', undefined, as('bogus')), 401, 'HTTPUnauthorized');
      expectFault(await h.req('GET', '/v2.0/networks', undefined, as('tok-expired')), 401, 'HTTPUnauthorized');
      const n = await h.req('POST', '/v2.0/networks', { network: { name: 'm' } }, as('tok-member'));
      expect(n.status).toBe(201);
      expect(n.body.network.project_id).toBe('p1');
      const before = validations;
      expect((await h.req('GET', '/v2.0/networks', undefined, as('tok-member'))).body.networks).toHaveLength(1);
      expect(validations).toBe(before);
      expectFault(await h.req('POST', '/v2.0/networks', { network: { shared: true } }, as('tok-member')), 403, 'PolicyNotAuthorized');
      expectFault(await h.req('POST', '/v2.0/networks', { network: {} }, as('tok-reader')), 403, 'PolicyNotAuthorized');
      expect((await h.req('GET', '/v2.0/networks', undefined, as('tok-reader'))).body.networks).toHaveLength(1);
      expect((await h.req('POST', '/v2.0/networks', { network: { shared: true } }, as('tok-admin'))).status).toBe(201);
      // GET / and extensions need no token? The versions document is public.
      expect((await h.req('GET', '/')).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
