/**
 * Child process for the crash test: writes keys forever, 16 in flight, and prints `ack KEY`
 * once each transaction has resolved (been acknowledged).
 */
import { SqliteStore } from '../../../src/store/sqlite.js';

const store = SqliteStore.open(process.argv[2]);
let next = 0;
async function writer(): Promise<void> {
  for (;;) {
    const i = next++;
    await store.txn({ compare: [{ key: `/crash/${i}`, target: 'version', op: '=', value: 0 }], success: [{ type: 'put', key: `/crash/${i}`, value: `v${i}` }] });
    process.stdout.write(`ack ${i}\n`);
  }
}
for (let w = 0; w < 16; w++) void writer();
