import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'wyvern-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('every write acknowledged before kill -9 is present after reopening', async () => {
  const path = join(dir, 'crash.db');
  const script = fileURLToPath(new URL('./sqlite-writer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: number[] = [];
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code} ${signal}`))));
    child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
      if (acked.length >= 2000 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
  });
  expect(acked.length).toBeGreaterThanOrEqual(2000);
  const store = SqliteStore.open(path);
  try {
    const present = new Map((await store.range('/crash/')).kvs.map((kv) => [kv.key, kv.value]));
    const missing = acked.filter((i) => present.get(`/crash/${i}`) !== `v${i}`);
    expect(missing).toEqual([]);
  } finally {
    await store.close();
  }
});
