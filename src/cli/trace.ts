/** `wyvern trace`: ofproto/trace on a chassis' switch, explained in ports, networks and routers. */
import { parseArgs, flagString, UsageError, type Command } from './command.js';
import { run } from '../ovs/daemons.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { NETWORKS, PORTS, ROUTERS, SECURITY_GROUP_RULES, SECURITY_GROUPS, type CollectionDecl } from '../model/collections.js';
import { DecodeError, decodeJson } from '../model/decode.js';
import type { PortRecord } from '../model/records.js';
import { explainTrace, namesFromRecords, NO_NAMES, type Explanation, type TraceNames } from '../trace/annotate.js';
import { parseTrace } from '../trace/parse.js';

const usage = `usage: wyvern trace [--appctl-target PATH] [--bridge br-int] [--nb URL]
                    [--port NAME_OR_ID --ovsdb TARGET] [--ct-next STATES] [--raw] [FLOW]

Runs \`ovs-appctl [-t PATH] ofproto/trace BRIDGE FLOW\` on this chassis' Open vSwitch and explains
the result in Wyvern's terms: each table by its pipeline stage name, each flow by the logical
object that owns it (from its cookie, named from the north-bound store), and one line for the
path, e.g.

  path: port vm1 → network blue → router r1 → network red → port vm2 (tunnel to 198.51.100.12)
  datapath actions: ...

  FLOW                  the packet, in ofproto/trace syntax, e.g.
                        in_port=vm1,dl_src=fa:16:3e:00:00:01,dl_dst=fa:16:3e:00:00:02,ip,nw_src=10.1.0.5,nw_dst=10.1.0.6
  --appctl-target PATH  ovs-vswitchd's control socket (ovs-appctl -t), e.g. DIR/ovs-vswitchd.ctl;
                        default: ovs-appctl's own default (the system daemon)
  --bridge NAME         integration bridge (default br-int)
  --nb URL              north-bound store to name ports, networks and routers: the server's
                        http://HOST:PORT, etcd:URL[,URL] or sqlite:PATH; without it owners are keys
  --port NAME_OR_ID     the Neutron port (name or id) the packet comes from: fills in in_port (its
                        OVS interface, found in OVSDB by external_ids:iface-id) and dl_src (its MAC),
                        before FLOW's own fields; needs --nb and --ovsdb
  --ovsdb TARGET        this chassis' ovsdb-server (unix:PATH or tcp:IP:PORT), for --port
  --ct-next STATES      conntrack state after each ct() (security groups), '/' between
                        recirculations, e.g. trk,new/trk,new (a new connection through two
                        filtered ports) or trk,est,rpl (a reply); default: OVS's trk,new
  --raw                 also print ovs-appctl's own output

Security groups read as "allowed by security group G rule R (ingress IPv4 tcp 22-22)",
"dropped by security group G of port P (no rule matched)" or "dropped: invalid connection
state".

Exit status 0 when the packet is delivered somewhere, 1 when it is dropped.`;

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

async function readNames(store: Store): Promise<{ names: TraceNames; ports: PortRecord[] }> {
  /** The records of a collection that decode (one that does not is left unnamed, not fatal). */
  const values = async <T>(c: CollectionDecl<T>): Promise<T[]> => {
    const out: T[] = [];
    for (const kv of (await store.range(c.prefix)).kvs) {
      try {
        out.push(decodeJson(kv.value, c.decode));
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
      }
    }
    return out;
  };
  const [networks, ports, routers, securityGroups, rules] = await Promise.all([
    values(NETWORKS),
    values(PORTS),
    values(ROUTERS),
    values(SECURITY_GROUPS),
    values(SECURITY_GROUP_RULES),
  ]);
  return { names: namesFromRecords({ networks, ports, routers, securityGroups, rules }), ports };
}

/** Runs the trace and explains it (the I/O half of `wyvern trace`; the pure half is src/trace). */
export async function traceFlow(opts: TraceOptions): Promise<TraceResult> {
  const store = opts.store ?? (opts.nb ? await openStore(opts.nb) : undefined);
  try {
    let names = NO_NAMES;
    let flow = opts.flow ?? '';
    if (store) {
      const read = await readNames(store);
      names = read.names;
      if (opts.port) {
        const matches = read.ports.filter((p) => p.id === opts.port || p.name === opts.port);
        if (matches.length === 0) throw new UsageError(`no port ${opts.port} in the store`);
        if (matches.length > 1) throw new UsageError(`port name ${opts.port} is ambiguous: use its id`);
        const p = matches[0];
        if (!opts.ovsdb) throw new UsageError('--port needs --ovsdb (to find its interface)');
        const iface = (
          await run('ovs-vsctl', [`--db=${opts.ovsdb}`, '--timeout=10', '--bare', '--columns=name', 'find', 'Interface', `external_ids:iface-id=${p.id}`])
        ).trim().split('\n')[0];
        if (!iface) throw new Error(`port ${opts.port} (${p.id}) has no interface in ${opts.ovsdb}`);
        flow = [`in_port=${iface}`, `dl_src=${p.mac_address}`, flow].filter((x) => x !== '').join(',');
      }
    } else if (opts.port) {
      throw new UsageError('--port needs --nb');
    }
    if (flow === '') throw new UsageError('FLOW (or --port) is required');
    const target = opts.appctlTarget ? ['-t', opts.appctlTarget] : [];
    // Each --ct-next gives the conntrack state of the next recirculation (ofproto/trace runs no
    // connection tracker of its own; without it OVS assumes trk,new).
    const ctNext = (opts.ctNext ?? []).flatMap((s) => ['--ct-next', s]);
    const raw = await run('ovs-appctl', [...target, 'ofproto/trace', opts.bridge ?? 'br-int', flow, ...ctNext]);
    return { flow, raw, explanation: explainTrace(parseTrace(raw), names) };
  } finally {
    if (store && !opts.store) await store.close();
  }
}

export const traceCommand: Command = {
  name: 'trace',
  summary: 'trace a packet through a chassis switch, explained in ports, networks and routers',
  usage,
  async run(argv) {
    const args = parseArgs(argv, { values: ['appctl-target', 'bridge', 'nb', 'port', 'ovsdb', 'ct-next'], booleans: ['raw'] });
    const ctNext = flagString(args, 'ct-next')?.split('/').filter((x) => x !== '');
    const flow = args.positional.join(',');
    let result: TraceResult;
    try {
      result = await traceFlow({
        appctlTarget: flagString(args, 'appctl-target'),
        bridge: flagString(args, 'bridge', 'br-int'),
        nb: flagString(args, 'nb'),
        port: flagString(args, 'port'),
        ovsdb: flagString(args, 'ovsdb'),
        flow,
        ...(ctNext ? { ctNext } : {}),
      });
    } catch (err) {
      if (err instanceof UsageError) throw err;
      const e = err as Error & { stderr?: string };
      process.stderr.write(`wyvern trace: ${(e.stderr ?? '').trim() || e.message}\n`);
      return 1;
    }
    if (args.flags.get('raw') === true) process.stdout.write(`${result.raw.trimEnd()}\n\n`);
    process.stdout.write(`${result.explanation.lines.join('\n')}\n`);
    return result.explanation.dropped ? 1 : 0;
  },
};
