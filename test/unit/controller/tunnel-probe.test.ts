import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChassisRecord } from '../../../src/model/chassis.js';
import type { Outgoing } from '../../../src/openflow/channel.js';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec.js';
import type { OfMessage } from '../../../src/openflow/types.js';
import {
  PROBE_ETHERTYPE,
  ProbePlanner,
  probeFrame,
  probePacketOut,
  probeTargets,
  TunnelProber,
  type ProbeSchedule,
} from '../../../src/controller/tunnel-probe.js';

const SCHEDULE: ProbeSchedule = { retryMs: [50, 200], refreshMs: 60_000 };
const hv2 = { chassis: 'hv2', ip: '198.51.100.12' };
const hv3 = { chassis: 'hv3', ip: '198.51.100.13' };

/** Times at which `planner` sends to `chassis` while the clock runs from 0 to `until` in 1 ms steps. */
function sendTimes(planner: ProbePlanner, chassis: string, from: number, until: number): number[] {
  const at: number[] = [];
  for (let t = from; t <= until; t++) for (const d of planner.due(t)) if (d.chassis === chassis) at.push(t);
  return at;
}

describe('ProbePlanner', () => {
  it('probes a new endpoint at once, after each retry delay, then every refresh period', () => {
    const p = new ProbePlanner(SCHEDULE);
    p.setTargets([hv2], 1_000);
    expect(p.nextDueAt()).toBe(1_000);
    expect(sendTimes(p, 'hv2', 1_000, 1_000 + 250 + 120_000)).toEqual([1_000, 1_050, 1_250, 61_250, 121_250]);
  });

  it('keeps the schedule of an unchanged endpoint, restarts it when its address changes', () => {
    const p = new ProbePlanner(SCHEDULE);
    p.setTargets([hv2, hv3], 0);
    sendTimes(p, 'hv2', 0, 300);
    p.setTargets([hv2, hv3], 300);
    expect(p.due(300)).toEqual([]);
    expect(p.nextDueAt()).toBe(60_250);
    p.setTargets([hv2, { chassis: 'hv3', ip: '198.51.100.99' }], 400);
    expect(p.due(400)).toEqual([{ chassis: 'hv3', ip: '198.51.100.99' }]);
    expect(p.nextDueAt()).toBe(450);
  });

  it('forgets endpoints that are gone; nothing is due with no endpoint', () => {
    const p = new ProbePlanner(SCHEDULE);
    p.setTargets([hv2, hv3], 0);
    p.setTargets([hv3], 10);
    expect(p.size).toBe(1);
    expect(p.due(10).map((t) => t.chassis)).toEqual(['hv3']);
    p.setTargets([], 20);
    expect(p.nextDueAt()).toBeUndefined();
    expect(p.due(1e9)).toEqual([]);
  });

  it('restart (the switch reconnected) makes every endpoint due from the start', () => {
    const p = new ProbePlanner(SCHEDULE);
    p.setTargets([hv2, hv3], 0);
    sendTimes(p, 'hv2', 0, 1_000);
    p.restart(5_000);
    expect(p.due(5_000)).toEqual([hv2, hv3]);
    expect(p.nextDueAt()).toBe(5_050);
  });
});

describe('probe targets and messages', () => {
  const rec = (name: string, ip: string) => ({ name, tunnel_ip: ip }) as ChassisRecord;

  it('every other chassis, by name and address', () => {
    const all = new Map([['hv1', rec('hv1', '198.51.100.11')], ['hv2', rec('hv2', hv2.ip)], ['hv3', rec('hv3', hv3.ip)]]);
    expect(probeTargets(all, 'hv1', '198.51.100.11')).toEqual([hv2, hv3]);
  });

  it('the packet-out sets tun_dst and tunnel key 0 (no network) and outputs to the tunnel port; it survives the codec', () => {
    const frame = probeFrame('hv1');
    expect(frame.length).toBeGreaterThanOrEqual(60);
    expect(frame.readUInt16BE(12)).toBe(PROBE_ETHERTYPE);
    expect(frame.subarray(14).toString()).toContain('wyvern tunnel probe from hv1');
    const msg = probePacketOut(7, hv2.ip, frame);
    const decoded = decodeMessage(encodeMessage({ ...msg, xid: 1 } as OfMessage));
    expect(decoded).toMatchObject({
      ok: true,
      msg: {
        type: 'packet_out',
        inPort: 'controller',
        actions: [
          { type: 'set_field', field: 'tun_ipv4_dst', value: hv2.ip },
          { type: 'set_field', field: 'tunnel_id', value: 0n },
          { type: 'output', port: 7 },
        ],
      },
    });
  });
});

describe('TunnelProber', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends only while connected, on its schedule, and starts over after a reconnect', () => {
    vi.useFakeTimers({ now: 0 });
    const sent: Outgoing[] = [];
    let connected = false;
    const prober = new TunnelProber({
      chassis: 'hv1',
      send: (m) => (sent.push(m), true),
      connected: () => connected,
      ofport: () => 1,
      schedule: SCHEDULE,
      now: () => Date.now(),
    });
    prober.setTargets([hv2]);
    vi.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
    connected = true;
    prober.restart();
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(250);
    expect(sent).toHaveLength(3);
    vi.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(4);
    prober.restart();
    expect(sent).toHaveLength(5);
    prober.stop();
    vi.advanceTimersByTime(600_000);
    expect(sent).toHaveLength(5);
    expect(vi.getTimerCount()).toBe(0);
  });
});
