/**
 * A fake OpenFlow 1.3 switch for the scale benchmark and tests: it listens on a unix socket (or
 * takes an already connected socket), decodes every message with our codec, keeps a flow and
 * group table, and answers what the controller asks: HELLO, FEATURES, ECHO, BARRIER, bundles
 * (open / add / commit / discard, applied atomically at commit), flow stats and group desc (from
 * its tables), port desc (empty), TLV table request/mod. It never forwards packets.
 *
 * Every decoded message is counted by type, and `commit` events report what a bundle applied, so
 * a benchmark can tell exactly when a flow reached the switch.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { decodeMessage, encodeMessage } from '../openflow/codec.js';
import { Framer } from '../openflow/framer.js';
import { OFPTT_ALL } from '../openflow/ports.js';
import type { CodecOptions, FlowStats, GroupDesc, Match, MessageOf, OfMessage, TlvMap } from '../openflow/types.js';
import { canonicalMatch, flowKey } from '../pipeline/canonical.js';

/** Entries per multipart reply part (keeps each frame well below 64 KiB). */
const STATS_PER_PART = 40;

type FlowMod = MessageOf<'flow_mod'>;
type GroupMod = MessageOf<'group_mod'>;

export interface FakeSwitchOptions {
  readonly datapathId?: bigint;
}

export interface FakeSwitchEvents {
  /** A bundle was committed (or flow/group mods outside a bundle were applied before a barrier). */
  commit: [messages: readonly OfMessage[]];
  /** A bundle commit arrived while `stallCommits` was set: left unapplied and unanswered. */
  stalled: [bundleId: number];
  /** A message we could not decode, or a protocol misuse (e.g. bundle_add to no open bundle). */
  error: [err: Error];
}

/** One switch: tables plus the connections talking to it (normally one controller). */
export class FakeSwitch extends EventEmitter<FakeSwitchEvents> {
  readonly flows = new Map<string, FlowStats>();
  readonly groups = new Map<number, GroupDesc>();
  readonly tlv: TlvMap[] = [];
  /** Decoded messages received, by type (echo included). */
  readonly received = new Map<string, number>();
  /** Flow mods and group mods applied (in bundles or not). */
  flowModsApplied = 0;
  groupModsApplied = 0;
  /** Connections accepted so far (more than one: the controller reconnected). */
  connections = 0;
  /**
   * While true, bundle commits are neither applied nor answered (a switch that hangs mid-pass);
   * the commit is emitted as 'stalled'.
   */
  stallCommits = false;
  private readonly datapathId: bigint;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(opts: FakeSwitchOptions = {}) {
    super();
    this.datapathId = opts.datapathId ?? 1n;
  }

  /** Listen on a unix socket path; the controller connects with `unix:PATH`. */
  async listen(socketPath: string): Promise<void> {
    const server = net.createServer((s) => this.attach(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  get messageCount(): number {
    let n = 0;
    for (const v of this.received.values()) n += v;
    return n;
  }

  /** Serve one connection (the switch speaks first with HELLO, as OVS does). */
  attach(sock: net.Socket): void {
    this.sockets.add(sock);
    this.connections++;
    const framer = new Framer();
    const bundles = new Map<number, OfMessage[]>();
    sock.setNoDelay?.(true);
    sock.on('error', () => undefined);
    sock.on('close', () => this.sockets.delete(sock));
    const write = (m: OfMessage): void => {
      if (!sock.destroyed) sock.write(encodeMessage(m, this.codecOptions()));
    };
    write({ type: 'hello', xid: 1, versions: [4] });
    sock.on('data', (chunk: Buffer) => {
      const r = framer.push(chunk);
      for (const f of r.frames) this.onFrame(f, write, bundles);
      if (!r.ok) {
        this.emit('error', r.error);
        sock.destroy();
      }
    });
  }

  private codecOptions(): CodecOptions {
    const lengths: Record<number, number> = {};
    for (const m of this.tlv) lengths[m.index] = m.optLen;
    return { tunMetadataLengths: lengths };
  }

  private count(type: string): void {
    this.received.set(type, (this.received.get(type) ?? 0) + 1);
  }

  private onFrame(frame: Buffer, write: (m: OfMessage) => void, bundles: Map<number, OfMessage[]>): void {
    const d = decodeMessage(frame);
    if (!d.ok) {
      this.count('undecodable');
      this.emit('error', new Error(`fake switch: undecodable message type ${frame[1]}`));
      return;
    }
    const msg = d.msg;
    this.count(msg.type);
    const xid = msg.xid;
    switch (msg.type) {
      case 'hello':
      case 'set_config':
      case 'set_packet_in_format':
      case 'set_controller_id':
      case 'packet_out':
        return;
      case 'echo_request':
        write({ type: 'echo_reply', xid, data: msg.data });
        return;
      case 'features_request':
        write({ type: 'features_reply', xid, datapathId: this.datapathId, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f });
        return;
      case 'barrier_request':
        write({ type: 'barrier_reply', xid });
        return;
      case 'flow_mod':
      case 'group_mod':
        this.applyAll([msg]);
        this.emit('commit', [msg]);
        return;
      case 'bundle_control':
        this.onBundleControl(msg, write, bundles);
        return;
      case 'bundle_add': {
        const b = bundles.get(msg.bundleId);
        if (!b) {
          this.emit('error', new Error(`fake switch: bundle_add to bundle ${msg.bundleId} that is not open`));
          return;
        }
        b.push(msg.message);
        return;
      }
      case 'flow_stats_request':
        this.replyParts(xid, [...this.flows.values()].filter((f) => msg.tableId === OFPTT_ALL || f.tableId === msg.tableId), (more, stats) =>
          write({ type: 'flow_stats_reply', xid, more, stats }),
        );
        return;
      case 'group_desc_request':
        this.replyParts(xid, [...this.groups.values()], (more, groups) => write({ type: 'group_desc_reply', xid, more, groups }));
        return;
      case 'port_desc_request':
        write({ type: 'port_desc_reply', xid, more: false, ports: [] });
        return;
      case 'tlv_table_request':
        write({ type: 'tlv_table_reply', xid, maxOptionSpace: 256, maxFields: 64, mappings: [...this.tlv] });
        return;
      case 'tlv_table_mod':
        if (msg.command === 'clear') this.tlv.length = 0;
        for (const m of msg.mappings) {
          const i = this.tlv.findIndex((t) => t.index === m.index);
          if (i >= 0) this.tlv.splice(i, 1);
          if (msg.command === 'add') this.tlv.push(m);
        }
        return;
      default:
        return;
    }
  }

  private replyParts<T>(_xid: number, items: readonly T[], send: (more: boolean, part: T[]) => void): void {
    if (items.length === 0) {
      send(false, []);
      return;
    }
    for (let i = 0; i < items.length; i += STATS_PER_PART) {
      send(i + STATS_PER_PART < items.length, items.slice(i, i + STATS_PER_PART));
    }
  }

  private onBundleControl(msg: MessageOf<'bundle_control'>, write: (m: OfMessage) => void, bundles: Map<number, OfMessage[]>): void {
    const reply = (ctrlType: MessageOf<'bundle_control'>['ctrlType']): void =>
      write({ type: 'bundle_control', xid: msg.xid, bundleId: msg.bundleId, ctrlType, flags: msg.flags });
    switch (msg.ctrlType) {
      case 'open_request':
        bundles.set(msg.bundleId, []);
        reply('open_reply');
        return;
      case 'close_request':
        reply('close_reply');
        return;
      case 'commit_request': {
        if (this.stallCommits) {
          this.emit('stalled', msg.bundleId);
          return;
        }
        const b = bundles.get(msg.bundleId) ?? [];
        bundles.delete(msg.bundleId);
        this.applyAll(b);
        reply('commit_reply');
        this.emit('commit', b);
        return;
      }
      case 'discard_request':
        bundles.delete(msg.bundleId);
        reply('discard_reply');
        return;
      default:
        return;
    }
  }

  private applyAll(messages: readonly OfMessage[]): void {
    for (const m of messages) {
      if (m.type === 'flow_mod') this.applyFlowMod(m);
      else if (m.type === 'group_mod') this.applyGroupMod(m);
    }
  }

  private applyGroupMod(m: GroupMod): void {
    this.groupModsApplied++;
    if (m.command === 'delete') {
      if (m.groupId === 0xfffffffc) this.groups.clear();
      else this.groups.delete(m.groupId);
    } else this.groups.set(m.groupId, { groupId: m.groupId, groupType: m.groupType, buckets: m.buckets });
  }

  private applyFlowMod(m: FlowMod): void {
    this.flowModsApplied++;
    const key = flowKey(m.tableId, m.priority, m.match);
    switch (m.command) {
      case 'add':
        this.flows.set(key, {
          tableId: m.tableId,
          durationSec: 0,
          durationNsec: 0,
          priority: m.priority,
          idleTimeout: m.idleTimeout,
          hardTimeout: m.hardTimeout,
          flags: m.flags,
          cookie: m.cookie,
          packetCount: 0n,
          byteCount: 0n,
          match: m.match,
          instructions: m.instructions,
        });
        return;
      case 'modify_strict': {
        const old = this.flows.get(key);
        if (old) this.flows.set(key, { ...old, instructions: m.instructions });
        return;
      }
      case 'delete_strict':
        this.flows.delete(key);
        return;
      case 'modify':
      case 'delete':
        for (const [k, f] of this.flows) {
          if (!nonStrictMatches(m, f)) continue;
          if (m.command === 'delete') this.flows.delete(k);
          else this.flows.set(k, { ...f, instructions: m.instructions });
        }
        return;
    }
  }

  /** Flows whose match has `eth_dst` = mac (lower case) and some instructions. */
  flowsForMac(mac: string): FlowStats[] {
    const want = mac.toLowerCase();
    return [...this.flows.values()].filter((f) => f.match.eth_dst === want && f.instructions.length > 0);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

/** OpenFlow non-strict semantics: table, cookie under mask, and every field of `m.match` equal. */
function nonStrictMatches(m: FlowMod, f: FlowStats): boolean {
  if (m.tableId !== OFPTT_ALL && m.tableId !== f.tableId) return false;
  if (m.cookieMask !== 0n && (m.cookie & m.cookieMask) !== (f.cookie & m.cookieMask)) return false;
  const want = Object.entries(m.match) as [keyof Match, unknown][];
  if (want.length === 0) return true;
  for (const [k, v] of want) {
    if (!(k in f.match)) return false;
    if (canonicalMatch({ [k]: v } as Match) !== canonicalMatch({ [k]: f.match[k] } as Match)) return false;
  }
  return true;
}
