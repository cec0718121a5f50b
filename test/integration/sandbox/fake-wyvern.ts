/**
 * A stand-in for `wyvern server` and `wyvern controller` until the real ones land, so tests
 * can drive `sandbox up` end to end (launched through WYVERN_SANDBOX_WYVERN). The server answers
 * GET / and the few Neutron calls `vm create`/`vm delete` make; the controller checks its OVSDB
 * socket is reachable from where it runs, prints its ready line and waits for SIGTERM.
 * FAKE_WYVERN_FAIL_CHASSIS=hvN makes that chassis' controller fail at start.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

const NETWORK_ID = '6a0c6c4e-55a1-4a8c-9e5c-3c1f4e2d9b10';

function server(args: readonly string[]): void {
  const [host, port] = (flag(args, 'listen') ?? '127.0.0.1:9696').split(':');
  console.log(`fake server: store ${flag(args, 'store')}`);
  const ports = new Map<string, Record<string, unknown>>();
  const send = (res: http.ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  http
    .createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        console.log(`fake server: ${req.method} ${url.pathname}${url.search}`);
        if (req.method === 'GET' && url.pathname === '/') return send(res, 200, { versions: [{ id: 'v2.0', status: 'CURRENT' }] });
        if (req.method === 'GET' && url.pathname === '/v2.0/networks') {
          const name = url.searchParams.get('name') ?? 'blue';
          return send(res, 200, { networks: name === 'blue' ? [{ id: NETWORK_ID, name, mtu: 1400 }] : [] });
        }
        if (req.method === 'POST' && url.pathname === '/v2.0/ports') {
          const { port } = JSON.parse(body) as { port: Record<string, unknown> };
          const mac = `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)?.join(':')}`;
          const created = { ...port, id: randomUUID(), mac_address: mac, fixed_ips: [] };
          ports.set(created.id, created);
          return send(res, 201, { port: created });
        }
        const m = /^\/v2\.0\/ports\/(.+)$/.exec(url.pathname);
        if (m && req.method === 'DELETE') return send(res, ports.delete(m[1]) ? 204 : 404);
        if (m && req.method === 'GET') return ports.has(m[1]) ? send(res, 200, { port: ports.get(m[1]) }) : send(res, 404);
        send(res, 404, { NeutronError: { type: 'HTTPNotFound', message: 'not here' } });
      });
    })
    .listen(Number(port), host, () => console.log(`fake server: listening on ${host}:${port}`));
}

function controller(args: readonly string[]): void {
  const chassis = flag(args, 'chassis');
  console.log(`fake controller: ${args.join(' ')}`);
  if (chassis === process.env.FAKE_WYVERN_FAIL_CHASSIS) {
    console.error(`fake controller: boom on ${chassis}`);
    process.exit(1);
  }
  const ovsdb = flag(args, 'ovsdb') ?? '';
  const openflow = flag(args, 'openflow') ?? '';
  for (const target of [ovsdb, openflow]) {
    if (!target.startsWith('unix:') || !existsSync(target.slice('unix:'.length))) {
      console.error(`fake controller: cannot reach ${target}`);
      process.exit(1);
    }
  }
  console.log(`ready: chassis ${chassis}, 0 flows, 0 local ports`);
  setInterval(() => undefined, 60_000);
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'server') server(rest);
else if (command === 'controller') controller(rest);
else {
  console.error(`fake wyvern: unknown command ${command}`);
  process.exit(2);
}
