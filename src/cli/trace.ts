/** `wyvern trace`: ofproto/trace on a chassis' switch, explained in ports, networks and routers. */
import path from 'node:path';
import { parseArgs, flagString, UsageError, type Command } from './command.js';
import { DEFAULT_SANDBOX_DIR } from '../sandbox/sandbox.js';
import { SandboxState } from '../sandbox/state.js';
import { parseProto, sandboxTrace, SandboxTraceError } from '../sandbox/trace.js';
import { storyJson } from '../trace/hops.js';
import { CHASSIS_PLACEHOLDER, traceAcross, TraceUsageError, type AcrossResult } from '../trace/run.js';

export { traceAcross, traceFlow, type AcrossOptions, type AcrossResult, type TraceOptions, type TraceResult } from '../trace/run.js';

const usage = `usage: wyvern trace [--appctl-target PATH] [--bridge br-int] [--nb URL]
                    [--port NAME_OR_ID --ovsdb TARGET] [--chassis NAME]
                    [--chassis-target NAME=PATH[,NAME=PATH...]] [--no-follow]
                    [--ct-next STATES] [--raw] [--json] [FLOW]

Runs \`ovs-appctl [-t PATH] ofproto/trace BRIDGE FLOW\` on a chassis' Open vSwitch and explains
the result in Wyvern's terms: each table by its pipeline stage name, each flow by the logical
object that owns it (from its cookie, named from the north-bound store), and one line for the
path. When the packet leaves through a tunnel, the trace continues on the receiving chassis
(found in the store by its tunnel IP): in_port = its tunnel port, the tun_id / tun_metadata0
the sender set, tun_src/tun_dst, and the headers as they left; the story is told once, one
block per chassis under a header, then the whole path:

  path: [hv1] port vm1 → network blue → router r1 → network red → tunnel to hv2 (198.51.100.12)
        → [hv2] network red → allowed by security group web rule 4c1d2e3f (ingress IPv4 tcp 22-22)
        → port vm2

  FLOW                  the packet, in ofproto/trace syntax, e.g.
                        in_port=vm1,dl_src=fa:16:3e:00:00:01,dl_dst=fa:16:3e:00:00:02,ip,nw_src=10.1.0.5,nw_dst=10.1.0.6
  --appctl-target PATH  ovs-vswitchd's control socket (ovs-appctl -t), e.g. DIR/ovs-vswitchd.ctl;
                        default: ovs-appctl's own default (the system daemon). With ${CHASSIS_PLACEHOLDER}
                        in it (e.g. /run/${CHASSIS_PLACEHOLDER}/ovs-vswitchd.ctl) it names every chassis' socket,
                        and the trace follows tunnels to any chassis
  --bridge NAME         integration bridge (default br-int)
  --nb URL              north-bound store to name ports, networks and routers and to find the
                        chassis behind a tunnel IP: the server's http://HOST:PORT, etcd:URL[,URL]
                        or sqlite:PATH; without it owners are keys and tunnels are not followed
  --port NAME_OR_ID     the Neutron port (name or id) the packet comes from: fills in in_port (its
                        OVS interface, found in OVSDB by external_ids:iface-id) and dl_src (its MAC),
                        before FLOW's own fields; needs --nb and --ovsdb
  --ovsdb TARGET        the first chassis' ovsdb-server (unix:PATH or tcp:IP:PORT), for --port
  --chassis NAME        the chassis the packet starts on (default: --port's binding:host_id, else
                        the chassis whose tunnel IP the first switch's tunnel port has)
  --chassis-target NAME=PATH[,NAME=PATH...]
                        the control socket of each further chassis (when not from ${CHASSIS_PLACEHOLDER});
                        a chassis with no socket ends the trace at its tunnel, with a note
  --no-follow           trace the first chassis only
  --ct-next STATES      conntrack state after each ct() (security groups), '/' between
                        recirculations, e.g. trk,new/trk,new (a new connection through two
                        filtered ports) or trk,est,rpl (a reply); default: OVS's trk,new. The
                        same states apply on every chassis
  --raw                 also print ovs-appctl's own output (per chassis)
  --json                the structured form: { path, dropped, destinations, hops: [{ chassis,
                        tunnel_ip, flow, from, path, end, steps, exits, ... }] }

Security groups read as "allowed by security group G rule R (ingress IPv4 tcp 22-22)",
"dropped by security group G of port P (no rule matched)" or "dropped: invalid connection
state", on whichever chassis applies them (egress on the sender, ingress on the receiver).

Exit status 0 when the packet is delivered somewhere, 1 when it is dropped (everywhere).`;

/** `hv2=/run/hv2/ovs-vswitchd.ctl,hv3=...` → map. */
function chassisTargets(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of (value ?? '').split(',').filter((x) => x !== '')) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw new UsageError(`--chassis-target wants NAME=PATH, not ${item}`);
    out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** What `wyvern trace` prints for a result: the story, or a one-chassis trace as it always read. */
export function formatTrace(result: AcrossResult, raw = false): string {
  const out: string[] = [];
  if (result.hops.length === 1) {
    const h = result.hops[0];
    if (raw) out.push(h.raw.trimEnd(), '');
    out.push(...h.explanation.lines);
    for (const u of result.unfollowed) out.push(`note: tunnel to ${u.chassis ?? h.explanation.exits[u.exit].remoteIp} not followed: ${u.reason}`);
    return out.join('\n');
  }
  if (raw) {
    for (const h of result.hops) out.push(`=== ovs-appctl ofproto/trace on ${h.chassis}: ${h.flow}`, h.raw.trimEnd(), '');
  }
  out.push(...result.story.lines);
  return out.join('\n');
}

export const traceCommand: Command = {
  name: 'trace',
  summary: 'trace a packet through the switches of every chassis it crosses, explained in ports, networks and routers',
  usage,
  async run(argv) {
    const args = parseArgs(argv, {
      values: ['appctl-target', 'bridge', 'nb', 'port', 'ovsdb', 'ct-next', 'chassis', 'chassis-target'],
      booleans: ['raw', 'json', 'no-follow'],
    });
    const ctNext = flagString(args, 'ct-next')?.split('/').filter((x) => x !== '');
    const flow = args.positional.join(',');
    const appctlTarget = flagString(args, 'appctl-target');
    const targets = chassisTargets(flagString(args, 'chassis-target'));
    const chassis = flagString(args, 'chassis');
    let result: AcrossResult;
    try {
      result = await traceAcross({
        appctlTarget,
        bridge: flagString(args, 'bridge', 'br-int'),
        nb: flagString(args, 'nb'),
        port: flagString(args, 'port'),
        ovsdb: flagString(args, 'ovsdb'),
        flow,
        ...(chassis ? { chassis } : {}),
        targetOf: (name) => targets.get(name),
        follow: !args.flags.has('no-follow'),
        ...(ctNext ? { ctNext } : {}),
      });
    } catch (err) {
      if (err instanceof TraceUsageError) throw new UsageError(err.message);
      const e = err as Error & { stderr?: string };
      process.stderr.write(`wyvern trace: ${(e.stderr ?? '').trim() || e.message}\n`);
      return 1;
    }
    if (args.flags.has('json')) process.stdout.write(`${JSON.stringify(storyJson(result, result.story), null, 2)}\n`);
    else process.stdout.write(`${formatTrace(result, args.flags.has('raw'))}\n`);
    return result.story.dropped ? 1 : 0;
  },
};

// ---------------------------------------------------------------------------------------------
// `wyvern sandbox trace` (dispatched from sandbox.ts; the work is in src/sandbox/trace.ts)

/** Its lines in `wyvern sandbox --help`. */
export const SANDBOX_TRACE_USAGE = `  trace FROM-VM TO-IP [icmp|tcp/PORT|udp/PORT] [--ct-next STATES] [--raw] [--json]
      The packet FROM-VM would send to TO-IP (default an ICMP echo request; tcp/udp from port
      49152), built from real addresses: the VM's port MAC and IPv4, the destination's MAC on
      the same subnet, else the MAC of the router interface on the VM's subnet. Traced with
      ofproto/trace on the VM's chassis and, through each tunnel, on the receiving chassis;
      told as one story in ports, networks, routers and security groups, a header per chassis
      (see 'wyvern trace --help'). Exit status 0 delivered, 1 dropped.`;

export async function runSandboxTrace(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['dir', 'ct-next'], booleans: ['raw', 'json'] });
  const [from, toIp, proto, ...extra] = args.positional;
  if (!from || !toIp || extra.length > 0) throw new UsageError('usage: sandbox trace FROM-VM TO-IP [icmp|tcp/PORT|udp/PORT]');
  const dir = path.resolve(flagString(args, 'dir', DEFAULT_SANDBOX_DIR) as string);
  const state = SandboxState.load(dir);
  if (!state) throw new UsageError(`no sandbox in ${dir} (start one with: wyvern sandbox up)`);
  let parsed;
  try {
    parsed = parseProto(proto);
  } catch (err) {
    if (err instanceof SandboxTraceError) throw new UsageError(err.message);
    throw err;
  }
  const ctNext = flagString(args, 'ct-next')?.split('/').filter((x) => x !== '');
  const result = await sandboxTrace(state, { from, toIp, proto: parsed, ...(ctNext ? { ctNext } : {}) });
  if (args.flags.has('json')) {
    const json = storyJson(result, result.story) as Record<string, unknown>;
    process.stdout.write(`${JSON.stringify({ packet: result.flow, next_hop: result.nextHop, ...json }, null, 2)}\n`);
  } else {
    process.stdout.write(`${from} → ${toIp}: ${result.flow}  (first hop: ${result.nextHop})\n\n${formatTrace(result, args.flags.has('raw'))}\n`);
  }
  return result.story.dropped ? 1 : 0;
}
