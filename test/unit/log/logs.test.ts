/**
 * Logs: one JSON object per line with level and component (or one readable line with
 * `--log-format text`), and the API server's request lines carrying the request id its answer
 * carries (X-Openstack-Request-Id).
 */
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/logger.js';
import { tsxLoader } from '../../../src/sandbox/launch.js';

const main = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b));
  return { stream, lines: () => Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l !== '') };
}

describe('createLogger', () => {
  it('json: one object per event, with level, time, component, fields; below the level nothing', () => {
    const { stream, lines } = capture();
    const log = createLogger({ name: 'controller', level: 'info', base: { chassis: 'hv1' }, destination: stream });
    log.info({ revision: 7 }, 'synced');
    log.debug('not shown');
    log.error({ err: new Error('boom') }, 'failed');
    const out = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ level: 30, name: 'controller', chassis: 'hv1', revision: 7, msg: 'synced' });
    expect(new Date(out[0].time as string).toISOString()).toBe(out[0].time);
    expect(out[1]).toMatchObject({ level: 50, msg: 'failed', err: { type: 'Error', message: 'boom' } });
  });

  it('text: one readable line per event', () => {
    const { stream, lines } = capture();
    const log = createLogger({ name: 'server', format: 'text', destination: stream });
    log.info({ status: 201 }, 'request');
    log.warn('careful');
    expect(lines()).toEqual([
      expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(server\): request \{"status":201\}$/),
      expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN \(server\): careful$/),
    ]);
  });
});

describe('wyvern server logs', () => {
  it('logs each API request as one JSON line with the request id of its answer', async () => {
    const p = spawn(process.execPath, ['--import', tsxLoader(), main, 'server', '--listen', '127.0.0.1:0', '--store', 'memory:'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const err: Buffer[] = [];
    p.stderr.on('data', (b: Buffer) => err.push(b));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        p.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          const m = /listening on (\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        p.on('exit', (code) => reject(new Error(`server exited ${code}: ${Buffer.concat(err).toString()}`)));
      });
      const res = await fetch(`${url}/v2.0/networks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"network":{"name":"n"}}' });
      expect(res.status).toBe(201);
      const id = res.headers.get('x-openstack-request-id');
      expect(id).toMatch(/^req-/);
      let line: Record<string, unknown> | undefined;
      for (let i = 0; i < 100 && !line; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const lines = Buffer.concat(err).toString().split('\n').filter((l) => l !== '');
        // Every line is a JSON object.
        const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
        line = parsed.find((o) => o.req_id === id);
      }
      expect(line).toMatchObject({ level: 30, name: 'server', msg: 'request', method: 'POST', url: '/v2.0/networks', status: 201 });
      expect(typeof line?.ms).toBe('number');
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  });
});
