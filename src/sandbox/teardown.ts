/**
 * `down`: remove everything the state file says the sandbox made, newest first (VMs, then
 * processes, then OVS daemons, veths, namespaces, files, directories). Idempotent, tolerant of
 * half-made things, and correct after `up` crashed: each resource is forgotten only once it is
 * gone, and the state file is removed last, only when nothing failed.
 */
import { rmSync } from 'node:fs';
import { deleteLink, deleteNetns } from './netns.js';
import { stopOwned } from './processes.js';
import { resourceKey, SandboxState, type Resource } from './state.js';

export interface TeardownReport {
  /** Keys of the resources removed (see `resourceKey`). */
  readonly removed: readonly string[];
  /** Resources that could not be removed, with why; the state file is kept when non-empty. */
  readonly errors: readonly string[];
  /** False when there was no sandbox in the directory. */
  readonly found: boolean;
}

export async function removeResource(r: Resource): Promise<void> {
  switch (r.kind) {
    case 'process':
      await stopOwned(r.pidFile, r.match);
      return;
    case 'netns':
      await deleteNetns(r.name);
      return;
    case 'link':
      await deleteLink(r.netns, r.name);
      return;
    case 'file':
      rmSync(r.path, { force: true });
      return;
    case 'dir':
      rmSync(r.path, { recursive: true, force: true });
      return;
  }
}

/** Remove `resources` newest first, forgetting each from the state once it is gone. */
export async function removeResources(
  state: SandboxState,
  resources: readonly Resource[],
): Promise<{ removed: string[]; errors: string[] }> {
  const removed: string[] = [];
  const errors: string[] = [];
  const remove = async (r: Resource) => {
    try {
      await removeResource(r);
      state.forget(r);
      removed.push(resourceKey(r));
    } catch (err) {
      errors.push(`${resourceKey(r)}: ${(err as Error).message.trim()}`);
    }
  };
  const newestFirst = [...resources].reverse();
  for (let i = 0; i < newestFirst.length; ) {
    // Neighbouring processes (controllers, a chassis' daemons) are stopped together.
    let j = i + 1;
    if (newestFirst[i].kind === 'process') while (j < newestFirst.length && newestFirst[j].kind === 'process') j++;
    await Promise.all(newestFirst.slice(i, j).map(remove));
    i = j;
  }
  return { removed, errors };
}

export async function teardown(dir: string): Promise<TeardownReport> {
  const state = SandboxState.load(dir);
  if (!state) return { removed: [], errors: [], found: false };
  const { removed, errors } = await removeResources(state, state.data.resources);
  if (errors.length === 0) {
    const { createdDir, dir: abs } = state.refresh();
    state.delete();
    if (createdDir) rmSync(abs, { recursive: true, force: true });
  }
  return { removed, errors, found: true };
}
