/**
 * The distributed router on real ovs-vswitchd (dummy datapath): packets are injected into VM
 * ports with `netdev-dummy/receive` and read back from the ports' tx pcap files, so what is
 * checked is what OVS really does with the compiled pipeline and the controller's answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalController, type L3Mode } from '../../../src/controller/controller.js';
import { startOvs, type OvsInstance } from '../../../src/ovs/daemons.js';
import { NeutronApi } from '../../../src/server/app.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { decodeEthernet, encodeEthernet, type EthernetFrame } from '../../../src/packet/index.js';
import { NeutronClient, waitFor } from '../../support/neutron-client.js';
import { L3_MODE_KEY } from '../../../src/model/config.js';
import { readPcap } from '../../support/pcap.js';

type Port = Record<string, unknown> & { id: string };
const ip = (p: Port) => (p.fixed_ips as { ip_address: string }[])[0].ip_address;
const mac = (p: Port) => p.mac_address as string;

function icmpEcho(src: Port, dstMac: string, dstIp: string, ttl: number, seq: number): string {
  const frame: EthernetFrame = {
    dst: dstMac,
    src: mac(src),
    etherType: 0x0800,
    payload: {
      type: 'ipv4', version: 4, ihl: 5, dscp: 0, ecn: 0, identification: seq, flags: 2, fragmentOffset: 0, ttl,
      protocol: 1, src: ip(src), dst: dstIp, options: Buffer.alloc(0),
      payload: { type: 'icmp', kind: 'echo-request', icmpType: 8, code: 0, identifier: 7, sequence: seq, data: Buffer.alloc(16, 0xab) },
    },
  } as unknown as EthernetFrame;
  const bytes = encodeEthernet(frame);
  if (!bytes.ok) throw bytes.error;
  return bytes.value.toString('hex');
}

function icmpOf(pkt: Buffer) {
  const f = decodeEthernet(pkt);
  if (!f.ok || f.value.payload.type !== 'ipv4' || f.value.payload.payload.type !== 'icmp') return undefined;
  return { eth: f.value, ip: f.value.payload, icmp: f.value.payload.payload as { kind: string; sequence?: number; original?: Buffer } };
}

/** The echo sequence number quoted in an ICMP error (original IPv4 header, then 8 bytes of ICMP). */
function quotedSequence(original: Buffer | undefined): number | undefined {
  if (original === undefined || original.length < 1) return undefined;
  const ihl = (original[0] & 0x0f) * 4;
  return original.length >= ihl + 8 ? original.readUInt16BE(ihl + 6) : undefined;
}

for (const mode of ['proactive', 'reactive'] as const satisfies readonly L3Mode[]) {
  describe(`distributed router on real Open vSwitch (${mode})`, () => {
    let dir: string;
    let ovs: OvsInstance;
    let controller: LocalController;
    let store: MemoryStore;
    let server: Server;
    let api: NeutronClient;
    let vmBlue: Port;
    let vmRed: Port;
    let gwBlue: { mac: string; ip: string };

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-l3-'));
      store = new MemoryStore();
      const listening = await new NeutronApi(store, { onError: () => {} }).listen('127.0.0.1', 0);
      server = listening.server;
      api = new NeutronClient(listening.url);
      ovs = await startOvs({ dir, dummy: true });
      controller = new LocalController({ chassis: 'hv1', nb: 'memory:', store, ovsdb: ovs.dbTarget, tunnelIp: '198.51.100.11', datapathType: 'dummy', l3Mode: mode });
      controller.on('error', (e) => console.error(`[${mode}] controller error: ${e.message}`));
      await controller.start();
      const blue = await api.create('network', { name: 'blue' });
      const red = await api.create('network', { name: 'red' });
      const sBlue = await api.create('subnet', { network_id: blue.id, cidr: '10.1.0.0/24', ip_version: 4 });
      const sRed = await api.create('subnet', { network_id: red.id, cidr: '10.2.0.0/24', ip_version: 4 });
      const router = await api.create('router', { name: 'r1' });
      const ifBlue = await api.call<{ port_id: string }>('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: sBlue.id });
      await api.call('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: sRed.id });
      const gwPort = await api.show('port', ifBlue.port_id);
      gwBlue = { mac: mac(gwPort), ip: ip(gwPort) };
      vmBlue = await api.create('port', { network_id: blue.id, name: 'vm-blue', port_security_enabled: false });
      vmRed = await api.create('port', { network_id: red.id, name: 'vm-red', port_security_enabled: false });
      for (const [name, p] of [['vmb', vmBlue], ['vmr', vmRed]] as const) {
        await ovs.vsctl('add-port', 'br-int', name, '--', 'set', 'Interface', name, `external_ids:iface-id=${p.id}`,
          `options:tx_pcap=${path.join(dir, `${name}.pcap`)}`);
      }
      // Both ports bound and their flows in.
      await waitFor(() => (controller.stats().localPorts === 2 && controller.stats().installedFlows > 0 ? true : undefined), 20_000, 'two local ports');
      // The switch holds everything the store says now (bindings included).
      await controller.waitForRevision(await store.revision(), 20_000);
    });

    afterAll(async () => {
      await controller?.stop();
      await ovs?.stop();
      server?.closeAllConnections();
      server?.close();
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const receive = (port: string, hex: string) => ovs.appctl('netdev-dummy/receive', port, hex);

    it('routes to the other subnet: TTL-1, router MAC as source, destination MAC, one hop', async () => {
      const before = controller.stats().packetIns;
      await receive('vmb', icmpEcho(vmBlue, gwBlue.mac, ip(vmRed), 64, 1));
      const got = await waitFor(() => readPcap(path.join(dir, 'vmr.pcap')).map(icmpOf).find((p) => p?.icmp.sequence === 1), 10_000, 'routed packet');
      expect(got.ip.ttl).toBe(63);
      expect(got.eth.dst).toBe(mac(vmRed));
      expect(got.eth.src).not.toBe(mac(vmBlue));
      if (mode === 'reactive') {
        // The first packet went through the controller (and was not lost); the next ones do not.
        expect(controller.stats().punts.reactive_miss).toBeGreaterThanOrEqual(1);
        const misses = controller.stats().punts.reactive_miss;
        for (let seq = 2; seq <= 5; seq++) await receive('vmb', icmpEcho(vmBlue, gwBlue.mac, ip(vmRed), 64, seq));
        await waitFor(() => (readPcap(path.join(dir, 'vmr.pcap')).map(icmpOf).filter((p) => p && (p.icmp.sequence ?? 0) >= 2).length === 4 ? true : undefined), 10_000, 'packets 2..5');
        expect(controller.stats().punts.reactive_miss).toBe(misses);
        expect(controller.stats().reactiveFlowsInstalled).toBe(1);
      } else {
        expect(controller.stats().packetIns).toBe(before);
      }
    });

    it('answers a ping to the router interface from the router address', async () => {
      await receive('vmb', icmpEcho(vmBlue, gwBlue.mac, gwBlue.ip, 64, 100));
      const reply = await waitFor(
        () => readPcap(path.join(dir, 'vmb.pcap')).map(icmpOf).find((p) => p?.icmp.kind === 'echo-reply' && p.icmp.sequence === 100),
        10_000, 'echo reply from the router');
      expect(reply.ip.src).toBe(gwBlue.ip);
      expect(reply.ip.dst).toBe(ip(vmBlue));
      expect(reply.eth.src).toBe(gwBlue.mac);
    });

    it('sends time exceeded from the router for TTL 1 (traceroute sees one hop)', async () => {
      await receive('vmb', icmpEcho(vmBlue, gwBlue.mac, ip(vmRed), 1, 200));
      const err = await waitFor(
        () => readPcap(path.join(dir, 'vmb.pcap')).map(icmpOf).find((p) => p?.icmp.kind === 'time-exceeded'),
        10_000, 'time exceeded');
      expect(err.ip.src).toBe(gwBlue.ip);
      expect(readPcap(path.join(dir, 'vmr.pcap')).map(icmpOf).some((p) => p?.icmp.sequence === 200)).toBe(false);
    });

    it('switches L3 mode at run time through the store, and routing goes on', async () => {
      const other = mode === 'proactive' ? 'reactive' : 'proactive';
      const { revision } = await store.txn({ compare: [], success: [{ type: 'put', key: L3_MODE_KEY, value: other }] });
      await controller.waitForRevision(revision);
      await waitFor(() => (controller.stats().installedFlows > 0 ? true : undefined), 5_000, 'flows');
      const missesBefore = controller.stats().punts.reactive_miss ?? 0;
      await receive('vmb', icmpEcho(vmBlue, gwBlue.mac, ip(vmRed), 64, 400));
      await waitFor(() => readPcap(path.join(dir, 'vmr.pcap')).map(icmpOf).find((p) => p?.icmp.sequence === 400), 10_000, 'routed after the switch');
      const misses = (controller.stats().punts.reactive_miss ?? 0) - missesBefore;
      expect(misses).toBe(other === 'reactive' ? 1 : 0);
      const back = await store.txn({ compare: [], success: [{ type: 'delete', key: L3_MODE_KEY }] });
      await controller.waitForRevision(back.revision);
    });

    it('stops routing within 1 s when the interface is removed', async () => {
      const routers = await api.call<{ routers: { id: string }[] }>('GET', '/routers');
      const sRed = (vmRed.fixed_ips as { subnet_id: string }[])[0].subnet_id;
      const removedAt = Date.now();
      await api.call('PUT', `/routers/${routers.routers[0].id}/remove_router_interface`, { subnet_id: sRed });
      await controller.waitForRevision(await store.revision());
      expect(Date.now() - removedAt).toBeLessThan(1_000);
      await receive('vmb', icmpEcho(vmBlue, gwBlue.mac, ip(vmRed), 64, 300));
      // Positive signal that the packet was handled: with no route left, the router answers the
      // sender with destination unreachable quoting it (and that answer comes after the switch
      // has done all it will do with the packet: the miss goes to the controller).
      const unreachable = await waitFor(
        () => readPcap(path.join(dir, 'vmb.pcap')).map(icmpOf).find((p) => p?.icmp.kind === 'dest-unreachable' && quotedSequence(p.icmp.original) === 300),
        10_000, 'destination unreachable for the packet to the removed subnet');
      expect(unreachable.ip.src).toBe(gwBlue.ip);
      expect(readPcap(path.join(dir, 'vmr.pcap')).map(icmpOf).some((p) => p?.icmp.sequence === 300)).toBe(false);
    });
  });
}
