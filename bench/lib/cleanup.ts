/**
 * Cleanup on every exit path of a benchmark: registered tasks (stop a daemon by its pid, remove
 * a directory) run in reverse order when the run ends normally (`runCleanups`) and when the
 * process gets SIGINT/SIGTERM or a parent IPC channel closes (`installSignalCleanup`).
 */
const tasks: Array<{ what: string; fn: () => Promise<void> | void }> = [];

/** Register a task; the returned function unregisters it (after it was done by hand). */
export function onCleanup(what: string, fn: () => Promise<void> | void): () => void {
  const t = { what, fn };
  tasks.push(t);
  return () => {
    const i = tasks.indexOf(t);
    if (i >= 0) tasks.splice(i, 1);
  };
}

/** Run every registered task, last registered first; failures are reported, never thrown. */
export async function runCleanups(log: (line: string) => void = () => {}): Promise<void> {
  while (tasks.length > 0) {
    const t = tasks.pop()!;
    try {
      await t.fn();
    } catch (err) {
      log(`cleanup ${t.what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

let installed = false;

/** On SIGINT/SIGTERM: run the cleanups, then exit (130/143). */
export function installSignalCleanup(log: (line: string) => void = () => {}): void {
  if (installed) return;
  installed = true;
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(sig, () => {
      log(`${sig}: cleaning up`);
      void runCleanups(log).finally(() => process.exit(code));
    });
  }
}

/**
 * The cleanups of one thing being built (a system under test): each task is registered globally
 * too (signals), and `run()` does this scope's tasks now, last first — after a failed start, or
 * at the end of a normal stop — and unregisters them.
 */
export class CleanupScope {
  private readonly mine: Array<{ what: string; fn: () => Promise<void> | void; forget: () => void }> = [];

  add(what: string, fn: () => Promise<void> | void): void {
    this.mine.push({ what, fn, forget: onCleanup(what, fn) });
  }

  async run(log: (line: string) => void = () => {}): Promise<void> {
    while (this.mine.length > 0) {
      const t = this.mine.pop()!;
      t.forget();
      try {
        await t.fn();
      } catch (err) {
        log(`cleanup ${t.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
