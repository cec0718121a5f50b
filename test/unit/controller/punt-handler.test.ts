import { describe, expect, it } from 'vitest';
import { PuntHandler } from '../../../src/controller/punt-handler.js';
import type { Outgoing } from '../../../src/openflow/channel.js';
import { buildUdpIpv4Ethernet, encodeEthernet } from '../../../src/packet/index.js';
import { decodeCookie, reactiveMissPuntUserdata } from '../../../src/pipeline/index.js';
import { R1, l3World, mac } from '../pipeline/fixture.js';

/** A packet-in as the switch sends it for an l3_nexthop miss of r1: b1 (ofport 1) → dstIp. */
function miss(dstIp: string): Parameters<PuntHandler['handle']>[0] {
  const frame = buildUdpIpv4Ethernet({
    srcMac: mac(11), dstMac: mac(91), srcIp: '10.1.0.11', dstIp, srcPort: 5000, dstPort: 6000, payload: Buffer.from('hi'),
  });
  const packet = encodeEthernet(frame);
  if (!packet.ok) throw new Error(packet.error.message);
  return { type: 'packet_in2', xid: 0, packet: packet.value, metadata: { in_port: 1 }, userdata: reactiveMissPuntUserdata(R1) };
}

function rig(): { h: PuntHandler; wire: Array<{ kind: 'msg'; msg: Outgoing } | { kind: 'bundle'; msgs: Outgoing[] }> } {
  const w = l3World();
  w.l3Mode = 'reactive';
  const topo = w.snapshot();
  const wire: Array<{ kind: 'msg'; msg: Outgoing } | { kind: 'bundle'; msgs: Outgoing[] }> = [];
  const h = new PuntHandler({
    topology: () => topo,
    send: (msg) => {
      wire.push({ kind: 'msg', msg });
      return true;
    },
    sendBundle: async (msgs) => {
      wire.push({ kind: 'bundle', msgs: [...msgs] });
    },
    dhcpRate: 20,
  });
  return { h, wire };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('PuntHandler: reactive misses', () => {
  it('one miss: its flow_mod, then its packet released through the pipeline', async () => {
    const { h, wire } = rig();
    h.handle(miss('10.5.0.52'));
    expect(wire).toEqual([]); // sent once the batch of packet-ins is read
    await tick();
    expect(wire.map((x) => (x.kind === 'msg' ? x.msg.type : 'bundle'))).toEqual(['flow_mod', 'packet_out']);
    const fm = (wire[0] as { msg: Outgoing }).msg as Extract<Outgoing, { type: 'flow_mod' }>;
    expect(decodeCookie(fm.cookie)).toEqual({ kind: 'reactive', key: 52 });
    expect(fm.idleTimeout).toBeGreaterThan(0);
    expect(h.stats().reactiveFlowsInstalled).toBe(1);
  });

  it('misses read together: one bundle with one flow per destination, then every packet', async () => {
    const { h, wire } = rig();
    for (const dst of ['10.5.0.52', '10.5.0.52', '10.3.0.32', '10.5.0.52']) h.handle(miss(dst));
    await tick();
    expect(wire.map((x) => (x.kind === 'msg' ? x.msg.type : 'bundle'))).toEqual(['bundle', 'packet_out', 'packet_out', 'packet_out', 'packet_out']);
    const flows = (wire[0] as { msgs: Outgoing[] }).msgs as Extract<Outgoing, { type: 'flow_mod' }>[];
    expect(flows.map((f) => decodeCookie(f.cookie)?.key).sort()).toEqual([32, 52]);
    expect(h.stats().reactiveFlowsInstalled).toBe(2);
    // The next batch starts empty.
    h.handle(miss('10.3.0.32'));
    await tick();
    expect(wire.slice(5).map((x) => (x.kind === 'msg' ? x.msg.type : 'bundle'))).toEqual(['flow_mod', 'packet_out']);
  });

  it('a destination with no port gets no flow and its packet is dropped', async () => {
    const { h, wire } = rig();
    h.handle(miss('10.5.0.99'));
    await tick();
    expect(wire).toEqual([]);
    expect(h.stats().reactiveFlowsInstalled).toBe(0);
  });
});
