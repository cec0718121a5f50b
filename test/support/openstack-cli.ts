/**
 * Drive the real `openstack` client (python3-openstackclient) against a `wyvern server` process
 * this helper starts on sqlite or on a private etcd, and stops (process group, then etcd).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { EtcdProcess } from './etcd.js';

const run = promisify(execFile);

export type CliStore = 'sqlite' | 'etcd';

export interface CliServer {
  readonly endpoint: string;
  /** `openstack ... -f json` parsed (undefined for commands that print nothing). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  os(...args: string[]): Promise<any>;
  /** Runs a command that must fail; resolves with its stderr. */
  osFails(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startCliServer(store: CliStore): Promise<CliServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `wyvern-cli-${store}-`));
  const etcd = store === 'etcd' ? await EtcdProcess.start() : undefined;
  const storeUrl = etcd ? `etcd:${etcd.url}` : `sqlite:${path.join(dir, 'nb.sqlite')}`;
  const root = path.resolve(import.meta.dirname, '../..');
  // Own process group, so that stopping it also stops tsx's node child.
  const server: ChildProcess = spawn(
    path.join(root, 'node_modules/.bin/tsx'),
    ['src/cli/main.ts', 'server', '--listen', '127.0.0.1:0', '--store', storeUrl],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true },
  );
  const stop = async (): Promise<void> => {
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      process.kill(-server.pid!, 'SIGTERM');
      await exited;
    }
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  let endpoint: string;
  try {
    endpoint = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const cli = (args: string[]) =>
    run('openstack', ['--os-auth-type', 'none', '--os-endpoint', endpoint, ...args], {
      timeout: 60_000,
      env: { ...process.env, OS_CLOUD: '' },
    });
  return {
    endpoint,
    async os(...args) {
      const { stdout } = await cli(args);
      return stdout.trim() === '' ? undefined : JSON.parse(stdout);
    },
    async osFails(...args) {
      try {
        await cli(args);
      } catch (err) {
        return String((err as { stderr?: string }).stderr ?? err);
      }
      throw new Error(`openstack ${args.join(' ')} succeeded`);
    },
    stop,
  };
}
