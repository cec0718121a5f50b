import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, startOvs, type OvsInstance } from '../../../src/ovs/daemons.js';

describe('private OVS daemons', () => {
  let dir: string;
  let ovs: OvsInstance;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-ovs-'));
    ovs = await startOvs({ dir, dummy: true });
  });
  afterAll(async () => {
    await ovs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a bridge whose flows can be set and read through its mgmt socket', async () => {
    await ovs.vsctl('add-br', 'br-test', '--', 'set', 'bridge', 'br-test', 'datapath_type=dummy', 'protocols=OpenFlow13');
    await ovs.ofctl('add-flow', 'br-test', 'table=3,priority=7,ip,nw_dst=10.0.0.1,actions=drop');
    const dump = await ovs.ofctl('dump-flows', 'br-test');
    expect(dump).toMatch(/table=3, .*priority=7,ip,nw_dst=10\.0\.0\.1 actions=drop/);
  });

  it('stops exactly the daemons it started', async () => {
    const pids = [ovs.ovsdb.pid, ovs.vswitchd.pid];
    expect(pids.every(isAlive)).toBe(true);
    await ovs.stop();
    expect(pids.some(isAlive)).toBe(false);
  });
});
