/**
 * The I/O half of `wyvern trace`: runs `ovs-appctl ofproto/trace` on a chassis (and, across
 * chassis, on every chassis a tunnel leads to), reads the names and chassis records from the
 * north-bound store, and hands the text to the pure half (parse.ts, annotate.ts, hops.ts).
 */
import { run } from '../ovs/daemons.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { CHASSIS_PREFIX, type ChassisRecord } from '../model/chassis.js';
import { NETWORKS, PORTS, ROUTERS, SECURITY_GROUP_RULES, SECURITY_GROUPS, type CollectionDecl } from '../model/collections.js';
import { DecodeError, decodeJson, type Decoder } from '../model/decode.js';
import { chassisRecord } from '../model/record-decoders.js';
import type { PortRecord } from '../model/records.js';
import { explainTrace, namesFromRecords, NO_NAMES, type Explanation, type TraceNames } from './annotate.js';
import { exitEncap, packetHeaders, parseDpifShow, receiverFlow, tellStory, tunnelPortOf, type ChassisHop, type CrossTrace, type Story, type UnfollowedExit } from './hops.js';
import { parseTrace } from './parse.js';

/** A mistake in what was asked (unknown port, missing option): the CLI prints it with its usage. */
export class TraceUsageError extends Error {
  override readonly name = 'TraceUsageError';
}

export interface TraceOptions {
  readonly appctlTarget?: string;
  readonly bridge?: string;
  /** North-bound store URL (opened and closed here), or an open store. */
  readonly nb?: string;
  readonly store?: Store;
  readonly port?: string;
  readonly ovsdb?: string;
  readonly flow?: string;
  /** Conntrack states for successive ct() recirculations, e.g. `trk,est,rpl` (ofproto/trace --ct-next). */
  readonly ctNext?: readonly string[];
}

export interface TraceResult {
  readonly flow: string;
  readonly raw: string;
  readonly explanation: Explanation;
}

interface NbView {
  readonly names: TraceNames;
  readonly ports: readonly PortRecord[];
  readonly chassis: readonly ChassisRecord[];
}

/** The records under a prefix that decode (one that does not is left out, not fatal). */
export async function values<T>(store: Store, prefix: string, decode: Decoder<T>): Promise<T[]> {
  const out: T[] = [];
  for (const kv of (await store.range(prefix)).kvs) {
    try {
      out.push(decodeJson(kv.value, decode));
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
    }
  }
  return out;
}

async function readNb(store: Store): Promise<NbView> {
  const of = <T>(c: CollectionDecl<T>): Promise<T[]> => values(store, c.prefix, c.decode);
  const [networks, ports, routers, securityGroups, rules, chassis] = await Promise.all([
    of(NETWORKS),
    of(PORTS),
    of(ROUTERS),
    of(SECURITY_GROUPS),
    of(SECURITY_GROUP_RULES),
    values(store, CHASSIS_PREFIX, chassisRecord),
  ]);
  return { names: namesFromRecords({ networks, ports, routers, securityGroups, rules }), ports, chassis };
}

function appctl(target: string | undefined, args: readonly string[]): Promise<string> {
  return run('ovs-appctl', [...(target ? ['-t', target] : []), ...args]);
}

/** `ofproto/trace` on one switch, explained. */
async function traceOne(target: string | undefined, bridge: string, flow: string, names: TraceNames, ctNext?: readonly string[]): Promise<TraceResult> {
  // Each --ct-next gives the conntrack state of the next recirculation (ofproto/trace runs no
  // connection tracker of its own; without it OVS assumes trk,new).
  const ct = (ctNext ?? []).flatMap((s) => ['--ct-next', s]);
  const raw = await appctl(target, ['ofproto/trace', bridge, flow, ...ct]);
  return { flow, raw, explanation: explainTrace(parseTrace(raw), names) };
}

/** `--port`: in_port (its OVS interface) and dl_src (its MAC) before FLOW's own fields. */
async function portFlow(view: NbView, opts: TraceOptions): Promise<{ flow: string; port?: PortRecord }> {
  const flow = opts.flow ?? '';
  if (!opts.port) return { flow };
  const matches = view.ports.filter((p) => p.id === opts.port || p.name === opts.port);
  if (matches.length === 0) throw new TraceUsageError(`no port ${opts.port} in the store`);
  if (matches.length > 1) throw new TraceUsageError(`port name ${opts.port} is ambiguous: use its id`);
  const p = matches[0];
  if (!opts.ovsdb) throw new TraceUsageError('--port needs --ovsdb (to find its interface)');
  const iface = (
    await run('ovs-vsctl', [`--db=${opts.ovsdb}`, '--timeout=10', '--bare', '--columns=name', 'find', 'Interface', `external_ids:iface-id=${p.id}`])
  ).trim().split('\n')[0];
  if (!iface) throw new Error(`port ${opts.port} (${p.id}) has no interface in ${opts.ovsdb}`);
  return { flow: [`in_port=${iface}`, `dl_src=${p.mac_address}`, flow].filter((x) => x !== '').join(','), port: p };
}

async function withStore<T>(opts: { readonly nb?: string; readonly store?: Store }, body: (store: Store | undefined) => Promise<T>): Promise<T> {
  const store = opts.store ?? (opts.nb ? await openStore(opts.nb) : undefined);
  try {
    return await body(store);
  } finally {
    if (store && !opts.store) await store.close();
  }
}

/** Runs the trace on one chassis and explains it. */
export async function traceFlow(opts: TraceOptions): Promise<TraceResult> {
  return withStore(opts, async (store) => {
    if (!store && opts.port) throw new TraceUsageError('--port needs --nb');
    const view = store ? await readNb(store) : undefined;
    const { flow } = view ? await portFlow(view, opts) : { flow: opts.flow ?? '' };
    if (flow === '') throw new TraceUsageError('FLOW (or --port) is required');
    return traceOne(opts.appctlTarget, opts.bridge ?? 'br-int', flow, view?.names ?? NO_NAMES, opts.ctNext);
  });
}

// ---------------------------------------------------------------------------------------------
// Across chassis

export const CHASSIS_PLACEHOLDER = '{chassis}';

export interface AcrossOptions extends TraceOptions {
  /**
   * The chassis the packet starts on. Default: the `binding:host_id` of `--port`, else the
   * chassis whose tunnel IP is the first switch's tunnel `local_ip`.
   */
  readonly chassis?: string;
  /**
   * The ovs-vswitchd control socket of a chassis (by name); undefined: not reachable from here.
   * Then `appctlTarget` with `{chassis}` replaced by the name, when it has the placeholder.
   */
  readonly targetOf?: (chassis: string) => string | undefined;
  /** Follow tunnels at all (default true). */
  readonly follow?: boolean;
  /** At most this many chassis in one trace (default 8): a guard against a loop between chassis. */
  readonly maxHops?: number;
}

export interface AcrossResult extends CrossTrace {
  readonly story: Story;
}

function templateTarget(template: string | undefined): ((chassis: string) => string | undefined) | undefined {
  if (template === undefined || !template.includes(CHASSIS_PLACEHOLDER)) return undefined;
  return (chassis) => template.split(CHASSIS_PLACEHOLDER).join(chassis);
}

/**
 * Traces the packet on its first chassis, then, for every copy sent into a tunnel, on the
 * chassis with that tunnel IP (found in the store's chassis records): in_port = its tunnel port
 * (from its `dpif/show`), the tunnel metadata the sender set, the headers as they left.
 */
export async function traceAcross(opts: AcrossOptions): Promise<AcrossResult> {
  return withStore(opts, async (store) => {
    if (!store && opts.port) throw new TraceUsageError('--port needs --nb');
    const view = store ? await readNb(store) : undefined;
    const names = view?.names ?? NO_NAMES;
    const bridge = opts.bridge ?? 'br-int';
    const { flow, port } = view ? await portFlow(view, opts) : { flow: opts.flow ?? '', port: undefined };
    if (flow === '') throw new TraceUsageError('FLOW (or --port) is required');
    const template = templateTarget(opts.appctlTarget);
    const targetOf = (name: string): string | undefined => opts.targetOf?.(name) ?? template?.(name);
    let firstName = opts.chassis ?? (port?.['binding:host_id'] || undefined);
    if (firstName === undefined && template) throw new TraceUsageError(`--appctl-target with ${CHASSIS_PLACEHOLDER} needs --chassis (or --port)`);
    const firstTarget = (firstName !== undefined ? targetOf(firstName) : undefined) ?? (template ? undefined : opts.appctlTarget);
    if (firstTarget === undefined && template) throw new TraceUsageError(`no appctl target for chassis ${firstName}`);

    const dpif = new Map<string | undefined, ReturnType<typeof parseDpifShow>>();
    const portsOf = async (target: string | undefined) => {
      let ports = dpif.get(target);
      if (!ports) dpif.set(target, (ports = parseDpifShow(await appctl(target, ['dpif/show']))));
      return ports;
    };
    const chassisByIp = (ip: string) => view?.chassis.find((c) => c.tunnel_ip === ip);
    // The first chassis' tunnel IP: its record, else its tunnel port's local_ip.
    let firstIp = firstName === undefined ? undefined : view?.chassis.find((c) => c.name === firstName)?.tunnel_ip;
    if (firstIp === undefined) {
      const local = (await portsOf(firstTarget)).find((p) => p.bridge === bridge && p.options.local_ip && p.options.remote_ip === 'flow');
      firstIp = local?.options.local_ip;
      firstName ??= firstIp === undefined ? undefined : chassisByIp(firstIp)?.name;
    }

    const hops: ChassisHop[] = [];
    const unfollowed: UnfollowedExit[] = [];
    const first = await traceOne(firstTarget, bridge, flow, names, opts.ctNext);
    hops.push({ chassis: firstName ?? firstIp ?? 'this chassis', ...(firstIp ? { tunnelIp: firstIp } : {}), ...(firstTarget ? { appctlTarget: firstTarget } : {}), ...first });
    if (opts.follow === false) return { hops, unfollowed, story: tellStory({ hops, unfollowed }) };
    const maxHops = opts.maxHops ?? 8;
    for (let i = 0; i < hops.length; i++) {
      const h = hops[i];
      const parsed = parseTrace(h.raw);
      const headers = packetHeaders(parsed.finalFlow && parsed.finalFlow !== 'unchanged' ? parsed.finalFlow : parsed.flow);
      for (const [k, exit] of h.explanation.exits.entries()) {
        const skip = (reason: string, chassis?: string): void => {
          unfollowed.push({ hop: i, exit: k, reason, ...(chassis ? { chassis } : {}) });
        };
        if (!view) {
          skip('no north-bound store (--nb) to find the chassis with this tunnel IP');
          continue;
        }
        const rec = chassisByIp(exit.remoteIp);
        if (!rec) {
          skip(`no chassis with tunnel IP ${exit.remoteIp} in the store`);
          continue;
        }
        const target = targetOf(rec.name);
        if (target === undefined) {
          skip(`no appctl target for ${rec.name} (give --appctl-target with ${CHASSIS_PLACEHOLDER} or --chassis-target ${rec.name}=PATH)`, rec.name);
          continue;
        }
        if (hops.length >= maxHops) {
          skip(`more than ${maxHops} chassis in one trace`, rec.name);
          continue;
        }
        const encap = exitEncap(exit);
        const tunnelPort = tunnelPortOf(await portsOf(target), bridge, encap);
        if (!tunnelPort) {
          skip(`${rec.name} has no ${encap} port on ${bridge}`, rec.name);
          continue;
        }
        const next = receiverFlow({ inPort: tunnelPort.name, exit, tunSrc: h.tunnelIp, headers });
        const r = await traceOne(target, bridge, next, names, opts.ctNext);
        hops.push({ chassis: rec.name, tunnelIp: rec.tunnel_ip, appctlTarget: target, ...r, from: { hop: i, exit: k } });
      }
    }
    return { hops, unfollowed, story: tellStory({ hops, unfollowed }) };
  });
}
