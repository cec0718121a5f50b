import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, makeConfig } from '../../../src/server/config.js';
import { CORE_PLUGINS } from '../../../src/server/resources/index.js';
import { expectFault, startApi, type Harness, type Json } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startApi({ plugins: CORE_PLUGINS });
});
afterEach(() => h.close());

const ADMIN = { admin: true };
const P1 = { project: 'p1' };

describe('quotas', () => {
  it('unlimited by default; admin sets, lists, shows, resets; details count usage', async () => {
    const def = (await h.req('GET', '/v2.0/quotas/p1/default', undefined, ADMIN)).body.quota;
    expect(def).toEqual({ network: -1, subnet: -1, subnetpool: -1, port: -1, router: -1, floatingip: -1, security_group: -1, security_group_rule: -1 });
    expect((await h.req('GET', '/v2.0/quotas/p1', undefined, P1)).body.quota).toEqual(def);
    expect((await h.req('GET', '/v2.0/quotas', undefined, ADMIN)).body).toEqual({ quotas: [] });
    const set = await h.req('PUT', '/v2.0/quotas/p1', { quota: { network: 2, port: '0' } }, ADMIN);
    expect(set.status).toBe(200);
    expect(set.body.quota).toMatchObject({ network: 2, port: 0, router: -1 });
    expect((await h.req('GET', '/v2.0/quotas', undefined, ADMIN)).body.quotas).toEqual([{ ...def, network: 2, port: 0, project_id: 'p1', tenant_id: 'p1' }]);
    await h.req('POST', '/v2.0/networks', { network: { name: 'a' } }, P1);
    const details = (await h.req('GET', '/v2.0/quotas/p1/details', undefined, ADMIN)).body.quota;
    expect(details.network).toEqual({ used: 1, limit: 2, reserved: 0 });
    expect(details.router).toEqual({ used: 0, limit: -1, reserved: 0 });
    // Errors: not admin, other project, bad values, unknown resources.
    expectFault(await h.req('PUT', '/v2.0/quotas/p1', { quota: { network: 5 } }, P1), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('GET', '/v2.0/quotas/p2', undefined, P1), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('GET', '/v2.0/quotas', undefined, P1), 403, 'PolicyNotAuthorized');
    expectFault(await h.req('PUT', '/v2.0/quotas/p1', { quota: { network: -2 } }, ADMIN), 400, 'HTTPBadRequest');
    expectFault(await h.req('PUT', '/v2.0/quotas/p1', { quota: { cores: 5 } }, ADMIN), 400, 'HTTPBadRequest');
    expectFault(await h.req('PUT', '/v2.0/quotas/p1', { network: 5 }, ADMIN), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/quotas/p1/details', {}, ADMIN), 405, 'HTTPMethodNotAllowed');
    expect((await h.req('DELETE', '/v2.0/quotas/p1', undefined, ADMIN)).status).toBe(204);
    expect((await h.req('GET', '/v2.0/quotas/p1', undefined, ADMIN)).body.quota).toEqual(def);
    expect((await h.req('GET', '/v2.0/quotas', undefined, ADMIN)).body.quotas).toEqual([]);
    const exts = (await h.req('GET', '/v2.0/extensions')).body.extensions.map((e: Json) => e.alias);
    expect(exts).toEqual(expect.arrayContaining(['quotas', 'quota_details']));
  });

  it('enforced on create (single and bulk), per project; concurrent creates never overshoot', async () => {
    await h.req('PUT', '/v2.0/quotas/p1', { quota: { network: 2, router: 0, security_group: 1 } }, ADMIN);
    expect((await h.req('POST', '/v2.0/networks', { network: { name: 'a' } }, P1)).status).toBe(201);
    const bulk = await h.req('POST', '/v2.0/networks', { networks: [{ name: 'b' }, { name: 'c' }] }, P1);
    expectFault(bulk, 409, 'OverQuota');
    expect(bulk.body.NeutronError.message).toBe("Quota exceeded for resources: ['network'].");
    expect((await h.req('POST', '/v2.0/networks', { network: { name: 'b' } }, P1)).status).toBe(201);
    expectFault(await h.req('POST', '/v2.0/networks', { network: { name: 'c' } }, P1), 409, 'OverQuota');
    // An admin creating for p1 is held to p1's quota; other projects are not.
    expectFault(await h.req('POST', '/v2.0/networks', { network: { name: 'c', project_id: 'p1' } }, ADMIN), 409, 'OverQuota');
    expect((await h.req('POST', '/v2.0/networks', { network: { name: 'c' } }, { project: 'p2' })).status).toBe(201);
    expectFault(await h.req('POST', '/v2.0/routers', { router: { name: 'r' } }, P1), 409, 'OverQuota');
    // The project's default security group (made by its first list) counts, as in Neutron.
    expect((await h.req('GET', '/v2.0/security-groups', undefined, P1)).body.security_groups).toHaveLength(1);
    expectFault(await h.req('POST', '/v2.0/security-groups', { security_group: { name: 'x' } }, P1), 409, 'OverQuota');
    // A new group's egress rules count against the rule quota.
    // (The project's default group, made with the first create, has 4 rules; each new group 2.)
    await h.req('PUT', '/v2.0/quotas/p4', { quota: { security_group_rule: 0 } }, ADMIN);
    expectFault(await h.req('POST', '/v2.0/security-groups', { security_group: { name: 'a' } }, { project: 'p4' }), 409, 'OverQuota');
    await h.req('PUT', '/v2.0/quotas/p4', { quota: { security_group_rule: 6 } }, ADMIN);
    expect((await h.req('POST', '/v2.0/security-groups', { security_group: { name: 'a' } }, { project: 'p4' })).status).toBe(201);
    expectFault(await h.req('POST', '/v2.0/security-groups', { security_group: { name: 'b' } }, { project: 'p4' }), 409, 'OverQuota');
    // Deleting frees quota.
    const nets = (await h.req('GET', '/v2.0/networks', undefined, P1)).body.networks;
    await h.req('DELETE', `/v2.0/networks/${nets[0].id}`, undefined, P1);
    expect((await h.req('POST', '/v2.0/networks', { network: { name: 'd' } }, P1)).status).toBe(201);
    // Concurrency: quota 5, ten racing creates in a fresh project.
    await h.req('PUT', '/v2.0/quotas/p3', { quota: { network: 5 } }, ADMIN);
    const got = await Promise.all(Array.from({ length: 10 }, (_, i) => h.req('POST', '/v2.0/networks', { network: { name: `n${i}` } }, { project: 'p3' })));
    expect(got.filter((r) => r.status === 201)).toHaveLength(5);
    expect(got.filter((r) => r.status === 409)).toHaveLength(5);
  });

  it('config: quotaDefaults validated', () => {
    expect(makeConfig({ quotaDefaults: { port: 500 } }).quotaDefaults).toEqual({ port: 500 });
    expect(() => makeConfig({ quotaDefaults: { cores: 1 } })).toThrow(ConfigError);
    expect(() => makeConfig({ quotaDefaults: { port: -5 } })).toThrow(ConfigError);
  });
});
