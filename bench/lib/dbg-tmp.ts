import { WyvernSystem } from './wyvern-system.js';
import { runCleanups } from './cleanup.js';
const dir = '/tmp/ovn-dbg/w' + Date.now();
const s = await WyvernSystem.start(dir, { cpuProfDir: dir + '/prof' });
try {
  await s.buildTopology(20);
  const nets = Array.from({ length: Number(process.argv[2] ?? 500) }, (_, k) => k % 20);
  const t0 = performance.now();
  const vifs = await s.createPorts(nets);
  console.log('created', performance.now() - t0);
  await s.plug(vifs);
  console.log('plugged', performance.now() - t0);
  const times = await Promise.all(vifs.map((v) => s.installedAt(v)));
  console.log('installed', Math.max(...times) - t0, 'batches', s.batches, 'mods', s.mods);
  for (let k = 0; k < Number(process.argv[3] ?? 10); k++) {
    await new Promise((r) => setTimeout(r, 100));
    const t1 = performance.now();
    const [v] = await s.createPorts([k % 20]);
    const a = performance.now() - t1;
    await s.plug([v]);
    const b = performance.now() - t1;
    const t = (await s.installedAt(v)) - t1;
    console.log('paced', a.toFixed(1), b.toFixed(1), t.toFixed(1));
  }
} finally {
  await s.stop();
  await runCleanups();
}
console.log(dir);
import { printProfile, profilesIn, summarizeProfile } from './cpu-profile-summary.js';
for (const f of profilesIn(dir + '/prof')) printProfile(summarizeProfile(f, 30));
