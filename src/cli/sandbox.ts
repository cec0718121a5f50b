/** `wyvern sandbox`: a whole cloud on this machine (see docs/sandbox.md). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagString, parseArgs, UsageError, type Command, type ParsedArgs } from './command.js';
import type { Encap, L3Mode } from '../sandbox/launch.js';
import { DEFAULT_API_PORT, DEFAULT_SANDBOX_DIR, formatStatus, status, up, type StoreKind } from '../sandbox/sandbox.js';
import { SandboxState } from '../sandbox/state.js';
import { teardown } from '../sandbox/teardown.js';
import { DhcpError } from '../sandbox/dhcp-client.js';
import { runDemo } from '../sandbox/demo.js';
import { createVm, deleteVm, execInVm } from '../sandbox/vm.js';
import { execOutside } from '../sandbox/outside.js';
import { startChassis, stopChassis } from '../sandbox/chassis-control.js';
import { runSandboxTrace, SANDBOX_TRACE_USAGE } from './trace.js';

const usage = `usage: wyvern sandbox COMMAND [OPTIONS]

A whole cloud on one machine: the API server, N chassis (each its own network namespace with
its own ovsdb-server, ovs-vswitchd on the userspace datapath, and a wyvern controller) joined by
an underlay (198.51.100.0/24 on a Linux bridge in a fabric namespace), VMs as namespaces, and
an outside world: the physical network 'public' (a second bridge in the fabric namespace, reached
from every chassis through its br-ex) with the namespace TAG-outside on it. Needs root, Open vSwitch, iproute2, ethtool and busybox (udhcpc). See docs/sandbox.md.

commands:
  up [--chassis N] [--gateways N] [--store sqlite|etcd] [--l3-mode proactive|reactive]
     [--encap geneve|vxlan] [--port PORT] [--no-server] [--no-controllers] [--keep-on-failure]
      Create the fabric and chassis hv1..hvN (tunnel IP 198.51.100.(10+N)) and gateway chassis
      gw1..gwN (198.51.100.(100+N), controllers get --gateway); start the API server on
      127.0.0.1:PORT (default ${DEFAULT_API_PORT}, another free port if taken) on sqlite:DIR/nb.db, or on an
      etcd the sandbox starts; start one controller per chassis. Returns when all are ready
      (server answers GET /, each controller logged its ready line) and prints the endpoint.
      --chassis defaults to 2. On failure everything made is removed unless --keep-on-failure;
      after Ctrl-C or a crash, run 'down'. TAG (wy + 4 hex) prefixes every namespace and link.
      Every chassis gets br-ex (netdev, standalone) holding a veth into 'public', and its
      controller --bridge-mappings public:br-ex (the controller patches br-ex to br-int); the
      namespace TAG-outside holds 203.0.113.1/24 on 'public' (the external network's upstream
      router) and 192.0.2.10/32 on its loopback (a host on the internet), forwarding on.
  down
      Stop every process and remove every namespace, veth and file the sandbox made (from its
      state file DIR/state.json). Idempotent; works after a crash or kill -9 of 'up'.
  status [--json]
      Chassis (with their br-ex), processes (alive or not), the outside namespace and its
      addresses, VMs and their current addresses.
  outside exec -- CMD [ARGS...]
      Run CMD inside TAG-outside; its exit code is passed through.
  chassis stop NAME
      A crash: kill -9 of every daemon of the chassis (ovsdb-server, ovs-vswitchd, controller),
      by the pids the sandbox recorded. Its namespace, VMs and files stay.
  chassis start NAME
      Start the chassis' daemons again (same directories and configuration; the controller
      with the same flags); returns when the controller logged a new ready line. VMs' ports
      come back from OVSDB's conf.db.
  vm create NAME --network NET [--chassis hvN] [--security-group SG]... [--no-dhcp]
      Create a Neutron port (device_owner compute:nova, binding:host_id hvN) through the API,
      a namespace TAG-vm-NAME with eth0 (the port's MAC, the network's MTU) plugged into the
      chassis' br-int with external_ids:iface-id=PORT; run udhcpc in it and print the address.
      Without --chassis, the compute chassis with the fewest VMs.
  vm exec NAME -- CMD [ARGS...]
      Run CMD inside the VM's namespace; its exit code is passed through.
  vm delete NAME
      Unplug the VM, remove its namespace and delete its port.
  vm list
      VMs and addresses (as in status).
${SANDBOX_TRACE_USAGE}
  demo [--store sqlite|etcd] [--port PORT]
      What 'npm run demo' runs: tear down a sandbox left in DIR, bring up 3 chassis and gateway
      chassis gw1, create through the API networks blue (10.1.0.0/24: VMs on hv1, hv2, hv3) and
      red (10.2.0.0/24: hv1, hv3) joined by router r1, and green (10.3.0.0/24: hv2) on no
      router; the external network public (flat on physnet public, 203.0.113.0/24, upstream
      203.0.113.1, pool .100-.200) as r1's gateway, and a floating IP for blue2; print who pings
      whom, then each VM -> 192.0.2.10 and the outside -> the floating IP, and leave the cloud
      running.

options (every command):
  --dir DIR   sandbox directory (default ./${DEFAULT_SANDBOX_DIR}): state, logs, OVS databases and sockets
  --help      this text`;

function sandboxDir(args: ParsedArgs): string {
  return path.resolve(flagString(args, 'dir', DEFAULT_SANDBOX_DIR) as string);
}

function intFlag(args: ParsedArgs, name: string, fallback: number): number {
  const v = flagString(args, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a number`);
  return Number(v);
}

function oneOf<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[]): T | undefined {
  const v = flagString(args, name);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`);
  return v as T;
}

function loadState(dir: string): SandboxState {
  const state = SandboxState.load(dir);
  if (!state) throw new UsageError(`no sandbox in ${dir} (start one with: wyvern sandbox up)`);
  return state;
}

function out(line = ''): void {
  process.stdout.write(line + '\n');
}

function dirHint(dir: string): string {
  return dir === path.resolve(DEFAULT_SANDBOX_DIR) ? '' : ` --dir ${dir}`;
}

async function runUp(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: ['dir', 'chassis', 'gateways', 'store', 'l3-mode', 'encap', 'port'],
    booleans: ['no-server', 'no-controllers', 'keep-on-failure'],
  });
  if (args.positional.length > 0) throw new UsageError(`unexpected ${args.positional.join(' ')}`);
  const dir = sandboxDir(args);
  const state = await up({
    dir,
    chassis: intFlag(args, 'chassis', 2),
    gateways: intFlag(args, 'gateways', 0),
    store: oneOf<StoreKind>(args, 'store', ['sqlite', 'etcd']) ?? 'sqlite',
    l3Mode: oneOf<L3Mode>(args, 'l3-mode', ['proactive', 'reactive']),
    encap: oneOf<Encap>(args, 'encap', ['geneve', 'vxlan']),
    apiPort: intFlag(args, 'port', DEFAULT_API_PORT),
    server: !args.flags.has('no-server'),
    controllers: !args.flags.has('no-controllers'),
    keepOnFailure: args.flags.has('keep-on-failure'),
    log: (line) => out(`  ${line}`),
  });
  const d = state.data;
  const hint = dirHint(dir);
  out(`sandbox ${d.tag} is up: ${d.chassis.map((c) => c.name).join(', ')}`);
  if (d.apiUrl) {
    const os = `openstack --os-auth-type none --os-endpoint ${d.apiUrl}`;
    out(`API endpoint: ${d.apiUrl}`);
    out('');
    out('try:');
    out(`  ${os} network create blue`);
    out(`  ${os} subnet create --network blue --subnet-range 10.0.0.0/24 blue-v4`);
    out(`  wyvern sandbox vm create vm1 --network blue${hint}`);
    out(`  wyvern sandbox vm create vm2 --network blue${hint}`);
    out(`  wyvern sandbox vm exec vm1${hint} -- ping -c 3 <address of vm2>`);
  }
  out(`  wyvern sandbox status${hint}`);
  out(`  wyvern sandbox down${hint}`);
  return 0;
}

async function runDown(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['dir'] });
  const dir = sandboxDir(args);
  const report = await teardown(dir);
  if (!report.found) {
    out(`no sandbox in ${dir}`);
    return 0;
  }
  for (const e of report.errors) process.stderr.write(`wyvern sandbox down: ${e}\n`);
  if (report.errors.length > 0) {
    process.stderr.write(`wyvern sandbox down: ${report.errors.length} left; state kept in ${dir}, run down again\n`);
    return 1;
  }
  out(`sandbox in ${dir} removed (${report.removed.length} things)`);
  return 0;
}

/** How the user runs this CLI from the current directory (printed in instructions). */
function wyvernHint(): string {
  const js = fileURLToPath(new URL('./main.js', import.meta.url));
  if (!existsSync(js)) return 'npx tsx src/cli/main.ts';
  const rel = path.relative(process.cwd(), js);
  return `node ${rel.startsWith('..') ? js : rel}`;
}

async function runDemoCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['dir', 'store', 'port'] });
  if (args.positional.length > 0) throw new UsageError(`unexpected ${args.positional.join(' ')}`);
  const dir = sandboxDir(args);
  const result = await runDemo({
    dir,
    apiPort: intFlag(args, 'port', DEFAULT_API_PORT),
    store: oneOf<StoreKind>(args, 'store', ['sqlite', 'etcd']) ?? 'sqlite',
    log: (line) => out(line),
  });
  const apiUrl = result.state.data.apiUrl as string;
  const hint = dirHint(dir);
  const w = wyvernHint();
  const first = result.vms[0];
  const peer = result.vms.find((v) => v !== first && v.network === first.network) ?? first;
  out('');
  out(result.matrix);
  out('');
  out(`The cloud is running (sandbox ${result.state.tag}, state in ${dir}).`);
  out(`API endpoint: ${apiUrl}   (Neutron v2.0, noauth)`);
  out('');
  out('explore:');
  out(`  openstack --os-auth-type none --os-endpoint ${apiUrl} network list`);
  out(`  openstack --os-auth-type none --os-endpoint ${apiUrl} port list --long`);
  out(`  ${w} sandbox status${hint}`);
  out(`  ${w} sandbox vm exec ${first.name}${hint} -- ip addr`);
  out(`  ${w} sandbox vm exec ${first.name}${hint} -- ping -c 3 ${peer.ip}`);
  out(`  ${w} sandbox vm create mine --network blue --chassis hv2${hint}`);
  const withFip = result.vms.find((v) => v.floatingIp);
  if (withFip) {
    out(`  ${w} sandbox vm exec ${first.name}${hint} -- ping -c 3 192.0.2.10      # the internet, through SNAT`);
    out(`  ${w} sandbox outside exec${hint} -- ping -c 3 ${withFip.floatingIp}      # ${withFip.name}'s floating IP, from outside`);
  }
  out(`  ${w} sandbox down${hint}      # remove everything the sandbox made`);
  if (!result.asExpected) {
    process.stderr.write('wyvern sandbox demo: the reachability matrix is not what the topology says (see the ! cells)\n');
    return 1;
  }
  return 0;
}

async function runStatus(argv: readonly string[], vmsOnly = false): Promise<number> {
  const args = parseArgs(argv, { values: ['dir'], booleans: ['json'] });
  const dir = sandboxDir(args);
  const s = await status(dir);
  if (!s) {
    out(`no sandbox in ${dir}`);
    return 1;
  }
  if (args.flags.has('json')) out(JSON.stringify(vmsOnly ? s.vms : s, null, 2));
  else if (vmsOnly) for (const v of s.vms) out(`${v.name}\t${v.chassis}\t${v.mac}\t${v.addresses.join(',') || '(none)'}`);
  else out(formatStatus(s));
  return 0;
}

async function runOutside(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'exec') throw new UsageError(sub ? `unknown outside command '${sub}'` : 'outside needs a command: exec');
  const args = parseArgs(rest, { values: ['dir'] });
  if (args.positional.length > 0) throw new UsageError('usage: outside exec -- CMD [ARGS...]');
  if (args.rest.length === 0) throw new UsageError('outside exec needs a command after --');
  return execOutside(loadState(sandboxDir(args)), args.rest);
}

async function runChassis(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'stop' && sub !== 'start') throw new UsageError(sub ? `unknown chassis command '${sub}'` : 'chassis needs a command: stop, start');
  const args = parseArgs(rest, { values: ['dir'] });
  const [name, ...extra] = args.positional;
  if (!name || extra.length > 0) throw new UsageError(`chassis ${sub} takes one NAME`);
  const state = loadState(sandboxDir(args));
  const done = sub === 'stop' ? await stopChassis(state, name) : await startChassis(state, name);
  const what = done.map((d) => `${d.name} (pid ${d.pid})`).join(', ') || 'nothing to do';
  out(`chassis ${name}: ${sub === 'stop' ? 'killed' : 'started'} ${what}`);
  return 0;
}

async function runVm(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create': {
      // --security-group may repeat: collect every value before the generic parser sees them.
      const groups: string[] = [];
      const others: string[] = [];
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === '--security-group') {
          const g = rest[++i];
          if (g === undefined) throw new UsageError('--security-group needs a value');
          groups.push(g);
        } else if (rest[i].startsWith('--security-group=')) groups.push(rest[i].slice('--security-group='.length));
        else others.push(rest[i]);
      }
      const args = parseArgs(others, { values: ['dir', 'network', 'chassis'], booleans: ['no-dhcp'] });
      const [name, ...extra] = args.positional;
      if (!name || extra.length > 0) throw new UsageError('vm create takes one NAME');
      const network = flagString(args, 'network');
      if (!network) throw new UsageError('vm create needs --network NET');
      const state = loadState(sandboxDir(args));
      let created: Awaited<ReturnType<typeof createVm>>;
      try {
        created = await createVm(state, {
          name,
          network,
          chassis: flagString(args, 'chassis'),
          securityGroups: groups,
          dhcp: !args.flags.has('no-dhcp'),
        });
      } catch (err) {
        if (err instanceof DhcpError) {
          throw new DhcpError(`${err.message}\n(the VM stays plugged for debugging: see docs/sandbox.md; 'vm delete ${name}' removes it)`);
        }
        throw err;
      }
      const { vm, lease } = created;
      out(`vm ${vm.name} on ${vm.chassis}: port ${vm.portId} mac ${vm.mac}${lease ? ` address ${lease.address}` : ''}`);
      return 0;
    }
    case 'exec': {
      const args = parseArgs(rest, { values: ['dir'] });
      const [name, ...extra] = args.positional;
      if (!name || extra.length > 0) throw new UsageError('usage: vm exec NAME -- CMD [ARGS...]');
      if (args.rest.length === 0) throw new UsageError('vm exec needs a command after --');
      return execInVm(loadState(sandboxDir(args)), name, args.rest);
    }
    case 'delete': {
      const args = parseArgs(rest, { values: ['dir'] });
      const [name, ...extra] = args.positional;
      if (!name || extra.length > 0) throw new UsageError('vm delete takes one NAME');
      await deleteVm(loadState(sandboxDir(args)), name);
      out(`vm ${name} deleted`);
      return 0;
    }
    case 'list':
      return runStatus(rest, true);
    default:
      throw new UsageError(sub ? `unknown vm command '${sub}'` : 'vm needs a command: create, exec, delete, list');
  }
}

export const sandboxCommand: Command = {
  name: 'sandbox',
  summary: 'a whole cloud on this machine: server, chassis with OVS and controllers, VMs as namespaces',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    try {
      switch (sub) {
        case 'up':
          return await runUp(rest);
        case 'down':
          return await runDown(rest);
        case 'status':
          return await runStatus(rest);
        case 'vm':
          return await runVm(rest);
        case 'outside':
          return await runOutside(rest);
        case 'chassis':
          return await runChassis(rest);
        case 'demo':
          return await runDemoCommand(rest);
        case 'trace':
          return await runSandboxTrace(rest);
        default:
          throw new UsageError(sub ? `unknown sandbox command '${sub}'` : 'missing command');
      }
    } catch (err) {
      if (err instanceof UsageError || !(err instanceof Error)) throw err;
      process.stderr.write(`wyvern sandbox ${sub}: ${err.message}\n`);
      return 1;
    }
  },
};
