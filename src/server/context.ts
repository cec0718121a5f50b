/** Who is asking: the request context every policy decision uses. */

export interface RequestContext {
  readonly projectId: string;
  readonly roles: readonly string[];
  readonly isAdmin: boolean;
  /** False for reader-only credentials: every write is refused. */
  readonly canWrite: boolean;
}

export function makeContext(projectId: string, roles: readonly string[]): RequestContext {
  const lower = roles.map((r) => r.toLowerCase());
  const isAdmin = lower.includes('admin');
  const canWrite = isAdmin || lower.includes('member') || lower.includes('_member_') || !lower.includes('reader');
  return { projectId, roles: lower, isAdmin, canWrite };
}

/** A context for server-internal work (hooks, other plugins): admin, may write. */
export function internalContext(projectId: string): RequestContext {
  return { projectId, roles: ['admin'], isAdmin: true, canWrite: true };
}
