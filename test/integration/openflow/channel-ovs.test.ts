import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OpenFlowChannel, OpenFlowServer, PeerDeadError } from '../../../src/openflow/channel.js';
import { startVswitchd, stopPid, type DaemonHandle } from '../../../src/ovs/daemons.js';
import { freePort } from '../../support/etcd.js';
import { frameWithPayload, ovsEnv, type OvsEnv } from './ovs-env.js';

const DPID = 0xabc1n;
vi.setConfig({ testTimeout: 30_000 });

describe('OpenFlow channel against ovs-vswitchd', () => {
  let env: OvsEnv;
  const channels: OpenFlowChannel[] = [];
  let extraVswitchd: DaemonHandle | undefined;
  const connect = (opts: Parameters<typeof OpenFlowChannel.connect>[1] = {}): OpenFlowChannel => {
    const ch = OpenFlowChannel.connect(`unix:${env.ovs.mgmtSocket('br0')}`, opts);
    channels.push(ch);
    return ch;
  };

  beforeAll(async () => {
    env = await ovsEnv('ofchan');
    await env.addBridge('br0', DPID);
  });
  afterAll(async () => {
    for (const ch of channels) ch.close();
    if (extraVswitchd) await extraVswitchd.stop();
    await env?.cleanup();
  });

  it('connects over the mgmt unix socket: HELLO, version 1.3, FEATURES with the datapath id', async () => {
    const ch = connect();
    const info = await ch.ready();
    expect(info.version).toBe(4);
    expect(info.datapathId).toBe(DPID);
    expect(info.features.nTables).toBeGreaterThan(200);
    const ports = await ch.portDesc();
    expect(ports.find((p) => p.name === 'br0')?.portNo).toBe(0xfffffffe);
    ch.close();
  });

  it('accepts OVS over passive TCP after set-controller', async () => {
    const server = await OpenFlowServer.listen({ host: '127.0.0.1', port: 0 });
    try {
      const sw = server.nextSwitch(DPID);
      await env.ovs.vsctl('set-controller', 'br0', server.target);
      const ch = await sw;
      expect(ch.datapathId).toBe(DPID);
      await ch.barrier();
      const ports = await ch.portDesc();
      expect(ports.some((p) => p.name === 'br0')).toBe(true);
    } finally {
      await env.ovs.vsctl('del-controller', 'br0');
      await server.close();
    }
  });

  it('connects actively over TCP to a switch listening with ptcp:', async () => {
    // A port nobody listens on: one the kernel just handed out (a fixed port could be any
    // other process's listener or ephemeral port, and the handshake would never come).
    const port = await freePort();
    await env.ovs.vsctl('set-controller', 'br0', `ptcp:${port}:127.0.0.1`);
    try {
      const ch = OpenFlowChannel.connect(`tcp:127.0.0.1:${port}`, { reconnect: { initialMs: 50, maxMs: 200 } });
      channels.push(ch);
      const info = await ch.ready(10_000);
      expect(info.datapathId).toBe(DPID);
      await ch.barrier();
      ch.close();
    } finally {
      await env.ovs.vsctl('del-controller', 'br0');
    }
  });

  it('a PACKET_OUT to CONTROLLER comes back as a PACKET_IN with the same data', async () => {
    const ch = connect();
    await ch.ready();
    const data = frameWithPayload(0x5eed);
    const got = once(ch, 'packetIn');
    ch.send({ type: 'packet_out', bufferId: 0xffffffff, inPort: 'controller', actions: [{ type: 'output', port: 'controller', maxLen: 0xffff }], data });
    const [pin] = (await got) as [{ data: Buffer; bufferId: number }];
    expect(pin.data.equals(data)).toBe(true);
    ch.close();
  });

  it('emits portStatus when a port is added and flowRemoved for a flow with send_flow_rem', async () => {
    const ch = connect();
    await ch.ready();
    const ps = once(ch, 'portStatus');
    await env.ovs.vsctl('add-port', 'br0', 'pst1', '--', 'set', 'interface', 'pst1', 'type=dummy', 'ofport_request=7');
    const [status] = (await ps) as [{ reason: string; desc: { portNo: number; name: string } }];
    expect(status.reason).toBe('add');
    expect(status.desc).toMatchObject({ portNo: 7, name: 'pst1' });

    const flow = {
      type: 'flow_mod', command: 'add', tableId: 9, priority: 5, cookie: 0x77n, cookieMask: 0n, idleTimeout: 0,
      hardTimeout: 0, flags: { sendFlowRem: true }, bufferId: 0xffffffff, outPort: 'any', outGroup: 0xffffffff,
      match: { in_port: 7 }, instructions: [],
    } as const;
    expect(await ch.sendBatch([flow])).toEqual([]);
    const fr = once(ch, 'flowRemoved');
    expect(await ch.sendBatch([{ ...flow, command: 'delete', flags: {}, tableId: 9 }])).toEqual([]);
    const [removed] = (await fr) as [{ reason: string; cookie: bigint; tableId: number; match: unknown }];
    expect(removed).toMatchObject({ reason: 'delete', cookie: 0x77n, tableId: 9, match: { in_port: 7 } });
    ch.close();
  });

  it('echo keepalive declares a SIGSTOPped switch dead', async () => {
    const ch = connect({ echoIntervalMs: 150, echoMisses: 3, reconnect: { initialMs: 50, maxMs: 200 } });
    await ch.ready();
    const pid = env.ovs.vswitchd.pid;
    const t0 = Date.now();
    process.kill(pid, 'SIGSTOP');
    try {
      const [reason] = (await once(ch, 'disconnected')) as [Error];
      expect(reason).toBeInstanceOf(PeerDeadError);
      expect(Date.now() - t0).toBeLessThan(2_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // And it comes back by itself once the switch runs again.
    const info = await ch.ready(10_000);
    expect(info.datapathId).toBe(DPID);
    ch.close();
  });

  it('reconnects after ovs-vswitchd restarts, re-handshakes and emits connected again', async () => {
    const ch = connect({ reconnect: { initialMs: 50, maxMs: 500 } });
    await ch.ready();
    let connects = 0;
    ch.on('connected', () => connects++);
    const disc = once(ch, 'disconnected');
    await stopPid(env.ovs.vswitchd.pid);
    await disc;
    expect(ch.state).toBe('connecting');
    extraVswitchd = await startVswitchd({ dir: env.dir, dbSocket: env.ovs.dbSocket, dummy: true });
    const info = await ch.ready(20_000);
    expect(info.datapathId).toBe(DPID);
    expect(connects).toBe(1);
    await ch.barrier();
    ch.close();
  });
});

