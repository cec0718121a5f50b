/** Frames and a CPU profile summary for bench/reactive.ts. */
import { Session } from 'node:inspector';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

export const RX_MAGIC = 0x57797672; // 'Wyvr'

function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}
function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

/** Ethernet/IPv4/UDP frame src → dst with an 8-byte tail (magic, tag) to find it again. */
export function udpFrame(srcMac: string, dstMac: string, srcIp: string, dstIp: string, tag: number): Buffer {
  const payload = 18; // pad to a 64-byte frame
  const b = Buffer.alloc(14 + 20 + 8 + payload);
  Buffer.from([...macBytes(dstMac), ...macBytes(srcMac)]).copy(b, 0);
  b.writeUInt16BE(0x0800, 12);
  const ip = 14;
  b[ip] = 0x45;
  b.writeUInt16BE(20 + 8 + payload, ip + 2);
  b.writeUInt16BE(tag & 0xffff, ip + 4);
  b[ip + 8] = 64;
  b[ip + 9] = 17;
  Buffer.from(ipBytes(srcIp)).copy(b, ip + 12);
  Buffer.from(ipBytes(dstIp)).copy(b, ip + 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += b.readUInt16BE(ip + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  b.writeUInt16BE(~sum & 0xffff, ip + 10);
  const udp = ip + 20;
  b.writeUInt16BE(40000 + (tag % 20000), udp);
  b.writeUInt16BE(9, udp + 2);
  b.writeUInt16BE(8 + payload, udp + 4);
  b.writeUInt32BE(RX_MAGIC, b.length - 8);
  b.writeUInt32BE(tag >>> 0, b.length - 4);
  return b;
}

/** The tag of a frame built by `udpFrame` (also inside a tunnel header), or undefined. */
export function tagOf(data: Buffer): number | undefined {
  if (data.length < 8 || data.readUInt32BE(data.length - 8) !== RX_MAGIC) return undefined;
  return data.readUInt32BE(data.length - 4);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface HotSpot {
  readonly fn: string;
  readonly where: string;
  readonly selfPct: number;
}

/** Samples this process' CPU while `body` runs; returns the top functions by self time. */
export async function profile<T>(body: () => Promise<T>, top = 15): Promise<{ value: T; hot: HotSpot[]; busyPct: number }> {
  const s = new Session();
  s.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => s.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  let value: T;
  let out: { profile: { nodes: ProfileNode[] } };
  try {
    value = await body();
  } finally {
    out = (await post('Profiler.stop')) as { profile: { nodes: ProfileNode[] } };
    s.disconnect();
  }
  const self = new Map<string, { fn: string; where: string; hits: number }>();
  let total = 0;
  let idle = 0;
  for (const n of out.profile.nodes) {
    const hits = n.hitCount ?? 0;
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)') {
      idle += hits;
      continue;
    }
    total += hits;
    const where = n.callFrame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/');
    const k = `${fn}@${where}`;
    const e = self.get(k) ?? { fn, where, hits: 0 };
    e.hits += hits;
    self.set(k, e);
  }
  const hot = [...self.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({ fn: e.fn, where: e.where, selfPct: Math.round((1000 * e.hits) / Math.max(1, total)) / 10 }));
  return { value, hot, busyPct: Math.round((1000 * total) / Math.max(1, total + idle)) / 10 };
}

/** Connects to a dummy netdev's `options:pstream` socket; calls `onFrame` per frame sent out of it. */
export function connectDummyStream(sockPath: string, onFrame: (frame: Buffer) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(sockPath);
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let off = 0;
      while (buf.length - off >= 2) {
        const n = buf.readUInt16BE(off);
        if (buf.length - off < 2 + n) break;
        onFrame(buf.subarray(off + 2, off + 2 + n));
        off += 2 + n;
      }
      buf = buf.subarray(off);
    });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}
