import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ChannelClosedError,
  OpenFlowChannel,
  OpenFlowErrorReply,
  PeerDeadError,
  ProtocolError,
  SendQueueFullError,
  VersionNegotiationError,
  buildHello,
  negotiateVersion,
  parseHelloVersions,
} from '../../../src/openflow/channel.js';
import { errorMsg, fakeSwitch, handshake, hello, ofp, portDescPart, type FakeSwitch } from './fake-switch.js';

describe('HELLO version bitmap', () => {
  it('builds a bitmap with bit 4 and parses it back', () => {
    const h = buildHello([4], 9);
    expect(h.toString('hex')).toBe('04000010000000090001000800000010');
    expect(parseHelloVersions(h)).toEqual({ headerVersion: 4, bitmap: [4] });
  });
  it('negotiates the highest common version, or none', () => {
    expect(negotiateVersion([4], { headerVersion: 6, bitmap: [1, 4, 6] })).toBe(4);
    expect(negotiateVersion([4], { headerVersion: 1, bitmap: [1] })).toBeUndefined();
    expect(negotiateVersion([4], { headerVersion: 5, bitmap: undefined })).toBe(4);
    expect(negotiateVersion([4], { headerVersion: 1, bitmap: undefined })).toBeUndefined();
  });
});

describe('OpenFlowChannel against a fake switch', () => {
  let sw: FakeSwitch;
  let ch: OpenFlowChannel | undefined;
  beforeEach(async () => {
    sw = await fakeSwitch();
  });
  afterEach(async () => {
    ch?.close();
    ch = undefined;
    await sw.close();
  });

  it('handshakes: HELLO with bitmap, FEATURES, datapath id', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0 });
    const c = await sw.accept();
    c.sock.write(hello([1, 4]));
    const ourHello = await c.reader.next(0);
    expect(parseHelloVersions(ourHello).bitmap).toEqual([4]);
    const fr = await c.reader.next(5);
    const { featuresReply } = await import('./fake-switch.js');
    c.sock.write(featuresReply(fr.readUInt32BE(4), 0xabcdefn));
    const info = await ch.ready();
    expect(info.datapathId).toBe(0xabcdefn);
    expect(info.version).toBe(4);
    expect(ch.state).toBe('connected');
  });

  it('rejects a 1.0-only switch with VersionNegotiationError and tells it why', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0, reconnect: false });
    const ready = ch.ready();
    const c = await sw.accept();
    c.sock.write(hello(undefined, 1));
    await expect(ready).rejects.toBeInstanceOf(VersionNegotiationError);
    const err = await c.reader.next(1);
    expect(err.readUInt16BE(8)).toBe(0); // HELLO_FAILED
    expect(err.readUInt16BE(10)).toBe(0); // INCOMPATIBLE
  });

  it('answers echo requests with the same xid and data', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0 });
    const c = await handshake(sw);
    await ch.ready();
    c.sock.write(ofp(2, 77, Buffer.from('abc')));
    const r = await c.reader.next(3);
    expect(r.readUInt32BE(4)).toBe(77);
    expect(r.subarray(8).toString()).toBe('abc');
  });

  it('declares a silent peer dead after N missed echoes', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 30, echoMisses: 3, reconnect: false });
    await handshake(sw);
    await ch.ready();
    const [reason] = (await once(ch, 'disconnected')) as [Error];
    expect(reason).toBeInstanceOf(PeerDeadError);
  });

  it('keeps a silent peer alive while it owes a reply (busy with our bundle), then declares it dead', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 20, echoMisses: 2, reconnect: false });
    const c = await handshake(sw);
    await ch.ready();
    const pending = ch.barrier(5_000);
    const req = await c.reader.next(20);
    await new Promise((r) => setTimeout(r, 200)); // 10 silent intervals, 5 × echoMisses
    expect(ch.state).toBe('connected');
    c.sock.write(ofp(21, req.readUInt32BE(4)));
    await pending;
    const [reason] = (await once(ch, 'disconnected')) as [Error];
    expect(reason).toBeInstanceOf(PeerDeadError);
  });

  it('keeps a peer that answers echoes alive', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 20, echoMisses: 2 });
    const c = await handshake(sw);
    await ch.ready();
    c.sock.on('data', () => {
      for (;;) {
        const f = c.reader.frames.shift();
        if (!f) break;
        if (f[1] === 2) c.sock.write(ofp(3, f.readUInt32BE(4)));
      }
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(ch.state).toBe('connected');
  });

  it('collects multipart replies across the MORE flag', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0 });
    const c = await handshake(sw);
    await ch.ready();
    const p = ch.portDesc();
    const req = await c.reader.next(18);
    const xid = req.readUInt32BE(4);
    c.sock.write(portDescPart(xid, true, 1, 'p1'));
    c.sock.write(portDescPart(xid, false, 2, 'p2'));
    const ports = await p;
    expect(ports.map((x) => [x.portNo, x.name])).toEqual([
      [1, 'p1'],
      [2, 'p2'],
    ]);
  });

  it('rejects a request with the typed OpenFlow error for its xid', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0 });
    const c = await handshake(sw);
    await ch.ready();
    const p = ch.barrier();
    const req = await c.reader.next(20);
    c.sock.write(errorMsg(req.readUInt32BE(4), 1, 1, req)); // BAD_REQUEST/BAD_TYPE
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenFlowErrorReply);
    expect((err as OpenFlowErrorReply).errType).toBe(1);
    expect((err as OpenFlowErrorReply).code).toBe(1);
    expect((err as OpenFlowErrorReply).xid).toBe(req.readUInt32BE(4));
  });

  it('emits unsolicited errors with the offending xid', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0 });
    const c = await handshake(sw);
    await ch.ready();
    const ev = once(ch, 'error');
    c.sock.write(errorMsg(4242, 5, 0, ofp(14, 4242)));
    const [err] = (await ev) as [OpenFlowErrorReply];
    expect(err).toBeInstanceOf(OpenFlowErrorReply);
    expect(err.xid).toBe(4242);
  });

  it('sendBatch returns the errors for its own messages', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0 });
    const c = await handshake(sw);
    await ch.ready();
    const p = ch.sendBatch([
      { type: 'echo_request', data: Buffer.from('a') },
      { type: 'echo_request', data: Buffer.from('b') },
    ]);
    await c.reader.next(2);
    const second = await c.reader.next(2);
    c.sock.write(errorMsg(second.readUInt32BE(4), 1, 0, second));
    const b = await c.reader.next(20);
    c.sock.write(ofp(21, b.readUInt32BE(4)));
    const errs = await p;
    expect(errs).toHaveLength(1);
    expect(errs[0].index).toBe(1);
    expect(errs[0].error.xid).toBe(second.readUInt32BE(4));
  });

  it('a malformed frame resets the connection without crashing; reconnects and re-handshakes', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0, reconnect: { initialMs: 10, maxMs: 50 } });
    const c = await handshake(sw, 1n);
    await ch.ready();
    const pending = ch.barrier();
    const disc = once(ch, 'disconnected');
    c.sock.write(Buffer.from([4, 0, 0, 3, 0, 0, 0, 0]));
    const [reason] = (await disc) as [Error];
    expect(reason).toBeInstanceOf(ProtocolError);
    await expect(pending).rejects.toBeInstanceOf(ChannelClosedError);
    const conn = once(ch, 'connected');
    await handshake(sw, 2n);
    const [info] = (await conn) as [{ datapathId: bigint }];
    expect(info.datapathId).toBe(2n);
  });

  it('an undecodable body is reported, not thrown', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0 });
    const c = await handshake(sw);
    await ch.ready();
    const ev = once(ch, 'error');
    // FEATURES_REPLY far too short for its body.
    c.sock.write(ofp(6, 99, [1, 2]));
    const [err] = (await ev) as [Error];
    expect(err).toBeInstanceOf(ProtocolError);
    expect(ch.state).toBe('connected');
  });

  it('applies back-pressure and bounds the queue', async () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0, highWaterBytes: 64 * 1024, maxQueueBytes: 256 * 1024 });
    const c = await handshake(sw);
    await ch.ready();
    c.sock.pause();
    const data = Buffer.alloc(1000);
    let sent = 0;
    while (ch.send({ type: 'echo_request', data })) sent++;
    expect(sent).toBeGreaterThan(10);
    let full: unknown;
    try {
      for (let i = 0; i < 10_000; i++) ch.send({ type: 'echo_request', data });
    } catch (e) {
      full = e;
    }
    expect(full).toBeInstanceOf(SendQueueFullError);
    const drained = once(ch, 'drain');
    c.sock.resume();
    await drained;
    expect(ch.queuedBytes).toBeLessThan(64 * 1024);
    await ch.sendAsync({ type: 'echo_request', data });
  });

  it('send before connect throws ChannelClosedError', () => {
    ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0 });
    expect(() => ch!.send({ type: 'barrier_request' })).toThrow(ChannelClosedError);
  });
});

describe('OpenFlowChannel robustness', () => {
  it('random and mutated bytes from the switch never throw out of the channel', async () => {
    const sw = await fakeSwitch();
    const ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0, reconnect: { initialMs: 5, maxMs: 20 } });
    let errors = 0;
    ch.on('error', () => errors++);
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // Valid-looking frames of every type with random bodies, plus raw garbage.
    for (let round = 0; round < 20; round++) {
      const c = await handshake(sw, BigInt(round + 1));
      await ch.ready();
      // (events.once would reject on the 'error' events the garbage causes.)
      const gone = new Promise<void>((r) => ch.once('disconnected', () => r()));
      const chunks: Buffer[] = [];
      for (let i = 0; i < 50; i++) {
        const body = Buffer.from(Array.from({ length: rnd(200) }, () => rnd(256)));
        chunks.push(ofp(rnd(36), rnd(1000), body));
      }
      if (round % 2) chunks.push(Buffer.from(Array.from({ length: 64 }, () => rnd(256))));
      const all = Buffer.concat(chunks);
      for (let off = 0; off < all.length; ) {
        const n = 1 + rnd(300);
        c.sock.write(all.subarray(off, off + n));
        off += n;
      }
      // End this connection (garbage may leave a partial frame pending); the channel comes back.
      c.sock.end();
      await gone;
    }
    expect(errors).toBeGreaterThan(0);
    ch.close();
    await sw.close();
  });

  it('a request that gets no reply times out with RequestTimeoutError', async () => {
    const sw = await fakeSwitch();
    const ch = OpenFlowChannel.connect(sw.target, { echoIntervalMs: 0 });
    await handshake(sw);
    await ch.ready();
    const { RequestTimeoutError } = await import('../../../src/openflow/channel.js');
    await expect(ch.barrier(50)).rejects.toBeInstanceOf(RequestTimeoutError);
    ch.close();
    await sw.close();
  });
});
