import { describe, expect, it } from 'vitest';
import { bindPort } from '../../../src/controller/port-binder.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { resourceKey } from '../../../src/model/keys.js';

const base = {
  id: 'p1', name: 'vm1', description: '', project_id: 'p', tags: [], created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z', revision_number: 0, network_id: 'n1', admin_state_up: true, status: 'DOWN',
  mac_address: 'fa:16:3e:00:00:02', fixed_ips: [], device_id: '', device_owner: 'compute:nova', allowed_address_pairs: [],
  extra_dhcp_opts: [], security_groups: [], port_security_enabled: true, 'binding:host_id': '', 'binding:vif_type': 'unbound',
  'binding:vif_details': {}, 'binding:vnic_type': 'normal', 'binding:profile': {}, key: 3,
};

async function read(store: MemoryStore) {
  return JSON.parse((await store.get(resourceKey('ports', 'p1')))!.value) as typeof base;
}

describe('bindPort', () => {
  it('binds a plugged port ACTIVE on this chassis once, and sets it DOWN when unplugged', async () => {
    const store = new MemoryStore();
    await store.txn({ compare: [], success: [{ type: 'put', key: resourceKey('ports', 'p1'), value: JSON.stringify(base) }] });
    expect(await bindPort(store, 'p1', 'hv1', 'up')).toBe(true);
    let rec = await read(store);
    expect(rec.status).toBe('ACTIVE');
    expect(rec['binding:host_id']).toBe('hv1');
    expect(rec['binding:vif_type']).toBe('ovs');
    expect(rec.revision_number).toBe(1);
    expect(await bindPort(store, 'p1', 'hv1', 'up')).toBe(false);
    expect(await bindPort(store, 'p1', 'hv2', 'down')).toBe(false);
    expect(await bindPort(store, 'p1', 'hv1', 'down')).toBe(true);
    rec = await read(store);
    expect(rec.status).toBe('DOWN');
    expect(await bindPort(store, 'missing', 'hv1', 'up')).toBe(false);
    await store.close();
  });

  it('keeps an administratively down port DOWN while binding it', async () => {
    const store = new MemoryStore();
    await store.txn({ compare: [], success: [{ type: 'put', key: resourceKey('ports', 'p1'), value: JSON.stringify({ ...base, admin_state_up: false }) }] });
    expect(await bindPort(store, 'p1', 'hv1', 'up')).toBe(true);
    const rec = await read(store);
    expect(rec.status).toBe('DOWN');
    expect(rec['binding:host_id']).toBe('hv1');
    await store.close();
  });
});
