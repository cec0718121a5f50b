import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFault, startApi, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startApi({ config: { maxBodyBytes: 4096 } });
});
afterAll(() => h.close());

describe('documents and faults', () => {
  it('GET / is the versions document; /v2.0 lists resources', async () => {
    const r = await h.req('GET', '/');
    expect(r.body.versions[0]).toMatchObject({ id: 'v2.0', status: 'CURRENT' });
    expect(r.body.versions[0].links[0].href).toBe(`${h.url}/v2.0/`);
    const v = await h.req('GET', '/v2.0/');
    expect(v.body.resources.map((x: { collection: string }) => x.collection)).toEqual(['networks', 'subnets', 'ports']);
  });

  it('extensions lists exactly what is implemented', async () => {
    const r = await h.req('GET', '/v2.0/extensions');
    const aliases = r.body.extensions.map((e: { alias: string }) => e.alias).sort();
    expect(aliases).toEqual([
      'allowed-address-pairs', 'binding', 'external-net', 'extra_dhcp_opt', 'filter-validation', 'ip-substring-filtering', 'net-mtu', 'net-mtu-writable', 'pagination', 'port-security',
      'project-id', 'provider', 'quota_details', 'quotas', 'revision-if-match', 'sorting', 'standard-attr-description', 'standard-attr-revisions', 'standard-attr-tag', 'standard-attr-timestamp', 'tag',
    ]);
    expect((await h.req('GET', '/v2.0/extensions/binding')).body.extension.alias).toBe('binding');
    expectFault(await h.req('GET', '/v2.0/extensions/router'), 404, 'HTTPNotFound');
    expect((await h.req('GET', '/v2.0/networks.json')).status).toBe(200);
  });

  it('malformed, empty and oversized bodies; unknown paths and methods', async () => {
    expectFault(await h.req('POST', '/v2.0/networks', '{"network": '), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/networks', ''), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/networks', '[1]'), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { name: 'x'.repeat(5000) } }), 413, 'HTTPRequestEntityTooLarge');
    expectFault(await h.req('POST', '/v2.0/networks', { network: { name: 'x'.repeat(300) } }), 400, 'HTTPBadRequest');
    expectFault(await h.req('GET', '/v2.0/nothing'), 404, 'HTTPNotFound');
    expectFault(await h.req('GET', '/v3'), 404, 'HTTPNotFound');
    expectFault(await h.req('PATCH', '/v2.0/networks'), 405, 'HTTPMethodNotAllowed');
    expectFault(await h.req('PUT', '/v2.0/networks', { network: {} }), 405, 'HTTPMethodNotAllowed');
    expect((await h.req('GET', '/v2.0/networks')).body.networks).toEqual([]);
  });

  it('chunked oversized body without content-length is cut at the limit', async () => {
    const u = new URL(h.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: '/v2.0/networks', method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('x'.repeat(1000));
      req.end();
    });
    expect(status).toBe(413);
  });
});
