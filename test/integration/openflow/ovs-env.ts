/** Shared setup for OpenFlow integration tests: a private OVS with dummy-datapath bridges. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOvs, type OvsInstance } from '../../../src/ovs/daemons.js';

export interface OvsEnv {
  readonly dir: string;
  readonly ovs: OvsInstance;
  addBridge(name: string, dpid: bigint, datapathType?: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function ovsEnv(prefix: string): Promise<OvsEnv> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `wyvern-${prefix}-`));
  const ovs = await startOvs({ dir, dummy: true });
  return {
    dir,
    ovs,
    async addBridge(name, dpid, datapathType = 'dummy') {
      await ovs.vsctl(
        'add-br', name, '--', 'set', 'bridge', name,
        `datapath_type=${datapathType}`,
        'protocols=OpenFlow13',
        'fail-mode=secure',
        `other-config:datapath-id=${dpid.toString(16).padStart(16, '0')}`,
      );
    },
    async cleanup() {
      await ovs.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function frameWithPayload(tag: number): Buffer {
  // Ethernet: dst, src, ethertype 0x88b5 (local experimental), payload.
  const eth = Buffer.alloc(64);
  Buffer.from([0x02, 0, 0, 0, 0, 0x02]).copy(eth, 0);
  Buffer.from([0x02, 0, 0, 0, 0, 0x01]).copy(eth, 6);
  eth.writeUInt16BE(0x88b5, 12);
  eth.writeUInt32BE(tag >>> 0, 14);
  return eth;
}
