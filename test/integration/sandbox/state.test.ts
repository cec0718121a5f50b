/**
 * The state file under concurrent writers (parallel `vm create` commands): every record from
 * every process survives, and a lock left by a dead process does not block.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tsxLoader } from '../../../src/sandbox/launch.js';
import { SandboxState, SandboxStateError } from '../../../src/sandbox/state.js';

const stateModule = fileURLToPath(new URL('../../../src/sandbox/state.ts', import.meta.url));

describe('sandbox state file', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wyvern-sandbox-state-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('keeps every record written by concurrent processes', async () => {
    const dir = path.join(root, 'concurrent');
    SandboxState.create(dir, 'wy0000');
    const writers = 4;
    const each = 40;
    const script = `
      const { SandboxState } = await import(${JSON.stringify(stateModule)});
      const s = SandboxState.load(process.argv[1]);
      for (let i = 0; i < ${each}; i++) s.record({ kind: 'file', path: 'w' + process.argv[2] + '-' + i });
    `;
    await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', tsxLoader(), '--input-type=module', '-e', script, dir, String(w)], {
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${w} exited ${code}`))));
        }),
      ),
    );
    const state = SandboxState.load(dir) as SandboxState;
    expect(state.data.resources.length).toBe(writers * each);
  });

  it('takes over a lock left by a dead process, and refuses a second sandbox in one dir', () => {
    const dir = path.join(root, 'stale');
    const state = SandboxState.create(dir, 'wy0001');
    writeFileSync(`${state.file}.lock`, '999999999');
    state.record({ kind: 'netns', name: 'wy0001-x' });
    expect(SandboxState.load(dir)?.data.resources).toEqual([{ kind: 'netns', name: 'wy0001-x' }]);
    expect(() => SandboxState.create(dir, 'wy0002')).toThrow(SandboxStateError);
  });
});
