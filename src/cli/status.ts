/** `wyvern status`: the health of the whole cloud, from the north-bound store (docs/status.md). */
import { openStore } from '../store/open.js';
import { chassisStatusKey } from '../model/status.js';
import { collectStatus, type StatusReport } from '../status/collect.js';
import { etcdHealth } from '../status/etcd-health.js';
import { flagString, parseArgs, UsageError, type Command } from './command.js';

const usage = `usage: wyvern status [--nb URL] [--json] [--forget CHASSIS]

The health of the cloud as the north-bound store knows it:
  store     what --nb opened, its revision, the stores the servers serve; for etcd its members
            and leader
  servers   every API server (its record, and whether its lease is alive)
  chassis   every chassis: alive (registration under its lease), version, applied revision and
            lag (as its controller last published), ports bound (ACTIVE), flows, groups,
            gateway role, OpenFlow/OVSDB connection state
Exits 0 when everything is healthy, 1 when something is not (each problem is listed), 2 on a
usage error.

  --nb URL          the server's http://HOST:PORT (default http://127.0.0.1:9696), etcd:URL[,URL]
                    or sqlite:PATH
  --json            the report as JSON (same exit status)
  --forget CHASSIS  delete the status record of a chassis taken out of service (it would
                    otherwise be reported down), then report`;

function cell(v: unknown): string {
  return v === undefined || v === null ? '-' : String(v);
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

export function formatReport(r: StatusReport): string {
  const lines: string[] = [];
  const s = r.store;
  lines.push(`store: ${s.kind} ${s.nb}, revision ${s.revision}${s.backends.length > 0 ? ` (servers serve ${s.backends.join(', ')})` : ''}`);
  if (s.etcd) {
    lines.push(`  etcd leader: ${s.etcd.leader ?? 'NONE'}`);
    for (const m of s.etcd.members) lines.push(`  etcd member ${m.name || m.id} ${m.clientUrls.join(',')}: ${m.reachable ? 'ok' : 'UNREACHABLE'}${m.isLeader ? ' (leader)' : ''}`);
  }
  lines.push('');
  if (r.servers.length === 0) lines.push('servers: none registered');
  else {
    lines.push(
      ...table([
        ['server', 'state', 'version', 'store', 'metrics'],
        ...r.servers.map((x) => [x.url, x.alive ? 'up' : 'DOWN', x.version, x.store, x.metrics_url]),
      ]),
    );
  }
  lines.push('');
  if (r.chassis.length === 0) lines.push('chassis: none registered');
  else {
    lines.push(
      ...table([
        ['chassis', 'state', 'version', 'gateway', 'applied', 'lag', 'ports', 'flows', 'groups', 'openflow', 'ovsdb'],
        ...r.chassis.map((c) => [
          c.name,
          !c.alive ? 'DOWN' : c.healthy ? 'up' : 'UNHEALTHY',
          cell(c.version),
          c.gateway ? 'yes' : 'no',
          cell(c.applied_revision),
          cell(c.lag),
          String(c.ports_bound),
          cell(c.flows),
          cell(c.groups),
          cell(c.openflow),
          cell(c.ovsdb),
        ]),
      ]),
    );
  }
  lines.push('');
  if (r.healthy) lines.push('healthy');
  else {
    lines.push(`UNHEALTHY: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`);
    for (const p of r.problems) lines.push(`  ${p}`);
  }
  return lines.join('\n');
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'health of the cloud: chassis (lease, revision, lag, ports, flows), servers, store; exit 1 if unhealthy',
  usage,
  async run(argv) {
    const args = parseArgs(argv, { values: ['nb', 'forget'], booleans: ['json'] });
    if (args.positional.length > 0) throw new UsageError(`unexpected argument ${args.positional[0]}`);
    const nb = flagString(args, 'nb', 'http://127.0.0.1:9696') as string;
    const store = await openStore(nb);
    try {
      const forget = flagString(args, 'forget');
      if (forget) await store.txn({ compare: [], success: [{ type: 'delete', key: chassisStatusKey(forget) }] });
      const report = await collectStatus(store, nb, { etcd: etcdHealth });
      process.stdout.write((args.flags.has('json') ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
      return report.healthy ? 0 : 1;
    } finally {
      await store.close();
    }
  },
};
