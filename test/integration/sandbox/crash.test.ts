/**
 * `down` after a crash: `up` killed -9 half way (OVS daemons, server and controllers already
 * detached), and a hand-made state file whose things are half made, missing, or whose pid file
 * names a process that is not ours (which must survive).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, run } from '../../../src/ovs/daemons.js';
import { tsxLoader, WYVERN_COMMAND_ENV } from '../../../src/sandbox/launch.js';
import { newTag } from '../../../src/sandbox/names.js';
import { createNetns, createVeth } from '../../../src/sandbox/netns.js';
import { spawnDetached } from '../../../src/sandbox/processes.js';
import { SandboxState, STATE_FILE, type SandboxData } from '../../../src/sandbox/state.js';
import { teardown } from '../../../src/sandbox/teardown.js';
import { eventually, leftovers, NOTHING_LEFT } from './leftovers.js';

const main = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const fake = fileURLToPath(new URL('./fake-wyvern.ts', import.meta.url));

function readState(dir: string): SandboxData | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, STATE_FILE), 'utf8')) as SandboxData;
  } catch {
    return undefined;
  }
}

describe('sandbox down after a crash', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-sandbox-crash-'));
  });
  afterAll(async () => {
    for (const d of ['killed', 'half']) if (SandboxState.exists(path.join(root, d))) await teardown(path.join(root, d));
    rmSync(root, { recursive: true, force: true });
  });

  it('cleans up after `wyvern sandbox up` is killed -9 while starting controllers', async () => {
    const dir = path.join(root, 'killed');
    const loader = tsxLoader();
    const env = { ...process.env, [WYVERN_COMMAND_ENV]: JSON.stringify([process.execPath, '--import', loader, fake]) };
    const cli = spawn(process.execPath, ['--import', loader, main, 'sandbox', 'up', '--dir', dir, '--chassis', '2', '--port', '0'], {
      env,
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => cli.on('exit', () => resolve()));
    // Kill it once a controller has been recorded: OVS, server and that controller are detached.
    await eventually(() => (readState(dir)?.processes ?? []).some((p) => p.name.startsWith('controller-')), 'a controller to start', 60_000);
    cli.kill('SIGKILL');
    await exited;

    const data = readState(dir) as SandboxData;
    const before = leftovers(data.tag, dir);
    expect(before.netns.length).toBe(4); // fabric, hv1, hv2, outside
    expect(before.pids.length).toBeGreaterThanOrEqual(5); // 2×ovsdb-server, 2×ovs-vswitchd, server
    const report = await teardown(dir);
    expect(report.errors).toEqual([]);
    await eventually(() => leftovers(data.tag, dir).pids.length === 0, 'every process to go');
    expect(leftovers(data.tag, dir)).toEqual(NOTHING_LEFT);
  });

  it('cleans up a half-made sandbox and spares processes that are not its own', async () => {
    const dir = path.join(root, 'half');
    const tag = newTag();
    const state = SandboxState.create(dir, tag);
    // Made: a namespace with a veth to another, and a detached process of ours.
    await createNetns(state, `${tag}-hv1`);
    await createNetns(state, `${tag}-vm-a`);
    await createVeth(state, { netns: `${tag}-hv1`, name: `${tag}v1` }, { netns: `${tag}-vm-a`, name: 'eth0' });
    const ours = spawnDetached(state, 'sleeper', { file: process.execPath, args: ['-e', 'setInterval(() => {}, 60000)', dir] }, {
      pidFile: path.join(dir, 'sleeper.pid'),
      logFile: path.join(dir, 'sleeper.log'),
      match: dir,
    });
    await eventually(() => existsSync(path.join(dir, 'sleeper.pid')), 'the pid file');
    // Recorded but never made.
    state.record({ kind: 'netns', name: `${tag}-hv2` });
    state.record({ kind: 'link', name: `${tag}f-hv2`, netns: `${tag}-fabric` });
    state.record({ kind: 'dir', path: path.join(dir, 'hv2') });
    state.record({ kind: 'process', name: 'never-started', pidFile: path.join(dir, 'hv2', 'ovsdb-server.pid'), match: dir });
    // A pid file naming a live process that is not ours (as after pid reuse), and a broken one.
    writeFileSync(path.join(dir, 'stranger.pid'), String(process.pid));
    state.record({ kind: 'process', name: 'stranger', pidFile: path.join(dir, 'stranger.pid'), match: dir });
    writeFileSync(path.join(dir, 'garbage.pid'), 'not a pid');
    state.record({ kind: 'process', name: 'garbage', pidFile: path.join(dir, 'garbage.pid'), match: dir });

    expect(isAlive(ours.pid)).toBe(true);
    const report = await teardown(dir);
    expect(report.errors).toEqual([]);
    expect(isAlive(process.pid)).toBe(true);
    await eventually(() => !isAlive(ours.pid), 'our process to stop');
    expect(leftovers(tag, dir)).toEqual(NOTHING_LEFT);
    expect(await run('ip', ['netns', 'list'])).not.toContain(tag);
    // And again: nothing to do.
    expect((await teardown(dir)).found).toBe(false);
  });
});
