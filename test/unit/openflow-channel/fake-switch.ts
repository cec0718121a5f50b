/**
 * A scripted fake switch for channel unit tests. Speaks raw bytes built here, independently of
 * the production codec.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function ofp(type: number, xid: number, body: Buffer | number[] = [], version = 4): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const h = Buffer.alloc(8);
  h[0] = version;
  h[1] = type;
  h.writeUInt16BE(8 + b.length, 2);
  h.writeUInt32BE(xid >>> 0, 4);
  return Buffer.concat([h, b]);
}

/** HELLO with a version bitmap element listing `versions` (or none when undefined). */
export function hello(versions: number[] | undefined, headerVersion = 4): Buffer {
  if (!versions) return ofp(0, 1, [], headerVersion);
  let bm = 0;
  for (const v of versions) bm |= 1 << v;
  const el = Buffer.alloc(8);
  el.writeUInt16BE(1, 0);
  el.writeUInt16BE(8, 2);
  el.writeUInt32BE(bm >>> 0, 4);
  return ofp(0, 1, el, headerVersion);
}

export function featuresReply(xid: number, dpid: bigint): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64BE(dpid, 0);
  b.writeUInt32BE(256, 8); // n_buffers
  b[12] = 254; // n_tables
  b.writeUInt32BE(0x4f, 16); // capabilities
  return ofp(6, xid, b);
}

export function portDescPart(xid: number, more: boolean, portNo: number, name: string): Buffer {
  const mp = Buffer.alloc(8);
  mp.writeUInt16BE(13, 0); // OFPMP_PORT_DESC
  mp.writeUInt16BE(more ? 1 : 0, 2);
  const port = Buffer.alloc(64);
  port.writeUInt32BE(portNo, 0);
  Buffer.from([0xaa, 0xbb, 0xcc, 0, 0, portNo & 0xff]).copy(port, 8);
  port.write(name, 16, 'ascii');
  return ofp(19, xid, Buffer.concat([mp, port]));
}

export function errorMsg(xid: number, errType: number, code: number, offending: Buffer): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(errType, 0);
  b.writeUInt16BE(code, 2);
  return ofp(1, xid, Buffer.concat([b, offending]));
}

/** Reads whole frames from a socket. */
export class FrameReader {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  readonly frames: Buffer[] = [];
  constructor(readonly sock: net.Socket) {
    sock.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      while (this.buf.length >= 8) {
        const len = this.buf.readUInt16BE(2);
        if (len < 8 || this.buf.length < len) break;
        this.frames.push(this.buf.subarray(0, len));
        this.buf = this.buf.subarray(len);
      }
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }
  /** Next frame of the given type (consumes frames before it). */
  async next(type?: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => type === undefined || f[1] === type);
      if (i >= 0) return this.frames.splice(0, i + 1)[i];
      if (Date.now() > deadline) throw new Error(`timeout waiting for frame type ${type}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}

export interface FakeSwitch {
  readonly path: string;
  readonly target: string;
  /** Resolves with the next accepted connection. */
  accept(): Promise<{ sock: net.Socket; reader: FrameReader }>;
  close(): Promise<void>;
}

export async function fakeSwitch(): Promise<FakeSwitch> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-fakesw-'));
  const p = path.join(dir, 'sw.sock');
  const queue: net.Socket[] = [];
  const waiters: Array<(s: net.Socket) => void> = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer((s) => {
    socks.add(s);
    s.on('error', () => undefined);
    const w = waiters.shift();
    if (w) w(s);
    else queue.push(s);
  });
  await new Promise<void>((r) => server.listen(p, r));
  return {
    path: p,
    target: `unix:${p}`,
    async accept() {
      const sock = queue.shift() ?? (await new Promise<net.Socket>((r) => waiters.push(r)));
      return { sock, reader: new FrameReader(sock) };
    },
    async close() {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Accept and complete the handshake as a 1.3 switch with the given datapath id. */
export async function handshake(sw: FakeSwitch, dpid = 0x1234n): Promise<{ sock: net.Socket; reader: FrameReader }> {
  const c = await sw.accept();
  c.sock.write(hello([1, 4]));
  await c.reader.next(0);
  const fr = await c.reader.next(5);
  c.sock.write(featuresReply(fr.readUInt32BE(4), dpid));
  return c;
}
