import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chassisKey, type ChassisRecord } from '../../../src/model/chassis.js';
import { agentId } from '../../../src/server/resources/agents.js';
import { CORE_PLUGINS } from '../../../src/server/resources/index.js';
import type { Lease } from '../../../src/store/types.js';
import { expectFault, startApi, type Harness, type Json } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startApi({ plugins: CORE_PLUGINS });
});
afterEach(() => h.close());

const ADMIN = { admin: true };
const P1 = { project: 'p1' };

/** Register a chassis the way a controller does: its record under a lease. */
async function register(name: string, extra: Partial<ChassisRecord> = {}): Promise<Lease> {
  const lease = await h.store.grantLease(60);
  const rec: ChassisRecord = {
    name,
    hostname: `${name}.example`,
    tunnel_ip: '192.0.2.10',
    encap: ['geneve'],
    bridge_mappings: { public: 'br-ex' },
    gateway: false,
    l3_mode: 'proactive',
    version: 'test',
    started_at: '2026-01-02T03:04:05.000Z',
    ...extra,
  };
  await h.store.txn({ compare: [], success: [{ type: 'put', key: chassisKey(name), value: JSON.stringify(rec), lease: lease.id }] });
  return lease;
}

describe('agents', () => {
  it('each registered chassis is an agent (admin only); liveness follows its lease', async () => {
    expect((await h.req('GET', '/v2.0/agents', undefined, ADMIN)).body).toEqual({ agents: [] });
    expect((await h.req('GET', '/v2.0/availability_zones', undefined, P1)).body).toEqual({ availability_zones: [] });
    const lease = await register('hv1');
    await register('gw1', { gateway: true });
    const list = (await h.req('GET', '/v2.0/agents?sort_key=host', undefined, ADMIN)).body.agents;
    expect(list.map((a: Json) => a.host)).toEqual(['gw1', 'hv1']);
    const hv1 = list[1];
    expect(hv1).toMatchObject({
      id: agentId('hv1'),
      agent_type: 'Wyvern controller',
      binary: 'wyvern-controller',
      host: 'hv1',
      availability_zone: 'nova',
      admin_state_up: true,
      alive: true,
      description: '',
      started_at: '2026-01-02 03:04:05',
      configurations: { tunnel_ip: '192.0.2.10', encap: ['geneve'], bridge_mappings: { public: 'br-ex' }, gateway: false },
    });
    expect(hv1.heartbeat_timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    for (const k of ['tenant_id', 'project_id', 'chassis', 'registration', 'revision_number']) expect(hv1[k]).toBeUndefined();
    // Filters work on derived fields.
    expect((await h.req('GET', '/v2.0/agents?host=gw1', undefined, ADMIN)).body.agents).toHaveLength(1);
    // Other projects see none, and 404 for one.
    expect((await h.req('GET', '/v2.0/agents', undefined, P1)).body).toEqual({ agents: [] });
    expectFault(await h.req('GET', `/v2.0/agents/${hv1.id}`, undefined, P1), 404, 'AgentNotFound');
    expectFault(await h.req('PUT', `/v2.0/agents/${hv1.id}`, { agent: { description: 'x' } }, P1), 404, 'AgentNotFound');
    // Zones: the default one, for networks and routers.
    expect((await h.req('GET', '/v2.0/availability_zones', undefined, P1)).body.availability_zones).toEqual([
      { name: 'nova', resource: 'network', state: 'available' },
      { name: 'nova', resource: 'router', state: 'available' },
    ]);
    // The lease ends (the controller died): the agent stays, not alive.
    await lease.revoke();
    const dead = (await h.req('GET', `/v2.0/agents/${hv1.id}`, undefined, ADMIN)).body.agent;
    expect(dead).toMatchObject({ alive: false, host: 'hv1', configurations: { tunnel_ip: '192.0.2.10' } });
  });

  it('update: description; admin_state_up true is accepted, false refused; no POST; delete', async () => {
    await register('hv1');
    const id = (await h.req('GET', '/v2.0/agents', undefined, ADMIN)).body.agents[0].id;
    const u = await h.req('PUT', `/v2.0/agents/${id}`, { agent: { description: 'rack 3' } }, ADMIN);
    expect(u.status).toBe(200);
    expect(u.body.agent).toMatchObject({ id, description: 'rack 3', alive: true });
    expect((await h.req('PUT', `/v2.0/agents/${id}`, { agent: { admin_state_up: true } }, ADMIN)).body.agent.admin_state_up).toBe(true);
    const off = await h.req('PUT', `/v2.0/agents/${id}`, { agent: { admin_state_up: false } }, ADMIN);
    expectFault(off, 400, 'InvalidInput');
    expect(off.body.NeutronError.message).toMatch(/admin_state_up=false is not supported/);
    expectFault(await h.req('PUT', `/v2.0/agents/${id}`, { agent: { host: 'x' } }, ADMIN), 400, 'HTTPBadRequest');
    expectFault(await h.req('POST', '/v2.0/agents', { agent: {} }, ADMIN), 405, 'HTTPMethodNotAllowed');
    expectFault(await h.req('POST', '/v2.0/availability_zones', { availability_zone: {} }, ADMIN), 405, 'HTTPMethodNotAllowed');
    // The description survives a controller restart (a new registration).
    await register('hv1', { started_at: '2026-02-02T00:00:00.000Z' });
    expect((await h.req('GET', '/v2.0/agents', undefined, ADMIN)).body.agents[0]).toMatchObject({ id, description: 'rack 3', started_at: '2026-02-02 00:00:00' });
    expect((await h.req('DELETE', `/v2.0/agents/${id}`, undefined, ADMIN)).status).toBe(204);
    expectFault(await h.req('GET', `/v2.0/agents/${id}`, undefined, ADMIN), 404, 'AgentNotFound');
    const exts = (await h.req('GET', '/v2.0/extensions')).body.extensions.map((e: Json) => e.alias);
    expect(exts).toEqual(expect.arrayContaining(['agent', 'availability_zone', 'service-type']));
    expect((await h.req('GET', '/v2.0/service-providers', undefined, P1)).body).toEqual({ service_providers: [{ service_type: 'L3_ROUTER_NAT', name: 'wyvern', default: true }] });
  });
});
