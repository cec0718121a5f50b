/**
 * A Wyvern controller in a process of its own (the benchmark's stand-in for `wyvern controller`:
 * the same LocalController, with `--nb http://SERVER`, i.e. the server's store service), that
 * tells its parent over IPC when the switch acknowledged a batch of flows: for each batch whose
 * bundle was committed and acknowledged (`synced` with a new `lastSent`), the OpenFlow ports
 * whose classification flow (match in_port) it held, stamped with the wall clock
 * (performance.timeOrigin + now, comparable across processes).
 *
 * Configuration: the JSON in env WYVERN_BENCH_CONTROLLER (ControllerOptions minus callbacks).
 * Stops on the parent's {type:'stop'}, on SIGTERM/SIGINT, or when the IPC channel closes.
 */
import { LocalController, type ControllerOptions } from '../../src/controller/controller.js';

type ChildMessage = { type: 'ready' } | { type: 'switch-lost'; reason: string } | { type: 'acked'; at: number; ofports: number[]; mods: number } | { type: 'error'; message: string };

function send(m: ChildMessage): void {
  process.send?.(m);
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.env.WYVERN_BENCH_CONTROLLER ?? '{}') as ControllerOptions;
  const stamp = (): string => new Date().toISOString().slice(11, 23);
  const say = (line: string): void => {
    process.stderr.write(`${stamp()} ${line}\n`);
    // The parent counts lost switch connections (a bundle cut short is sent again in full).
    if (line.startsWith('switch disconnected')) send({ type: 'switch-lost', reason: line });
  };
  // Timings of every bundle and sync pass go to the controller's log (WYVERN_BENCH_TRACE=1).
  const trace = process.env.WYVERN_BENCH_TRACE === '1';
  const ctrl = new LocalController({
    ...cfg,
    log: say,
    observer: trace
      ? {
          bundle: (s, n, ok) => say(`bundle ${n} mods ${ok ? 'ok' : 'FAILED'} in ${(s * 1000).toFixed(1)} ms`),
          sync: (s) => say(`sync pass ${(s * 1000).toFixed(1)} ms`),
        }
      : undefined,
  });
  ctrl.on('error', (e) => send({ type: 'error', message: e.message }));
  let last = ctrl.lastSent;
  ctrl.on('synced', () => {
    const batch = ctrl.lastSent;
    if (batch === last) return;
    last = batch;
    const at = performance.timeOrigin + performance.now();
    const ofports = new Set<number>();
    for (const m of batch) {
      if (m.type === 'flow_mod' && (m.command === 'add' || m.command === 'modify_strict') && typeof m.match.in_port === 'number') ofports.add(m.match.in_port);
    }
    send({ type: 'acked', at, ofports: [...ofports], mods: batch.length });
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void ctrl.stop().finally(() => process.exit(0));
  };
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') stop();
  });
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await ctrl.start();
  send({ type: 'ready' });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
