/**
 * Authentication: turns request headers into a RequestContext.
 * - noauth: `X-Project-Id` (or `X-Tenant-Id`) names the project; `X-Roles` (comma separated)
 *   gives roles. Without a project header: the configured default project, admin unless
 *   `noauthDefaultAdmin` is false.
 * - keystone: `X-Auth-Token` validated with Keystone v3 `GET /v3/auth/tokens`
 *   (`X-Subject-Token`), cached until the token expires (bounded by `cacheSeconds`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ServerConfig } from './config.js';
import { makeContext, type RequestContext } from './context.js';
import { NeutronFault, NotAuthenticated } from './errors.js';

export interface Authenticator {
  authenticate(headers: IncomingHttpHeaders): Promise<RequestContext>;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function noauth(cfg: ServerConfig): Authenticator {
  return {
    async authenticate(headers) {
      const project = header(headers, 'x-project-id') ?? header(headers, 'x-tenant-id');
      const roles = (header(headers, 'x-roles') ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '');
      if (project === undefined || project === '') {
        const r = roles.length > 0 ? roles : cfg.noauthDefaultAdmin ? ['admin'] : ['member'];
        return makeContext(cfg.defaultProject, r);
      }
      return makeContext(project, roles);
    },
  };
}

interface CachedToken {
  readonly ctx: RequestContext;
  readonly until: number;
}

interface KeystoneTokenBody {
  token?: {
    expires_at?: string;
    project?: { id?: string };
    roles?: { name?: string }[];
  };
}

export function keystone(cfg: ServerConfig, now: () => number = Date.now): Authenticator {
  const ks = cfg.keystone;
  if (!ks) throw new Error('keystone auth needs keystone.url');
  const base = ks.url.replace(/\/+$/, '').replace(/\/v3$/, '');
  const maxCacheMs = (ks.cacheSeconds ?? 300) * 1000;
  const cache = new Map<string, CachedToken>();
  return {
    async authenticate(headers) {
      const token = header(headers, 'x-auth-token');
      if (!token) throw new NotAuthenticated();
      const hit = cache.get(token);
      if (hit && hit.until > now()) return hit.ctx;
      cache.delete(token);
      let res: Response;
      try {
        res = await fetch(`${base}/v3/auth/tokens`, {
          headers: { 'X-Auth-Token': ks.serviceToken ?? token, 'X-Subject-Token': token, Accept: 'application/json' },
        });
      } catch {
        throw new NeutronFault(503, 'ServiceUnavailable', 'Identity service unavailable');
      }
      if (res.status === 401 || res.status === 403 || res.status === 404) throw new NotAuthenticated();
      if (!res.ok) throw new NeutronFault(503, 'ServiceUnavailable', 'Identity service unavailable');
      const body = (await res.json()) as KeystoneTokenBody;
      const projectId = body.token?.project?.id;
      if (!projectId) throw new NotAuthenticated();
      const roles = (body.token?.roles ?? []).map((r) => r.name ?? '').filter((r) => r !== '');
      const ctx = makeContext(projectId, roles);
      const expires = Date.parse(body.token?.expires_at ?? '');
      const until = Math.min(Number.isNaN(expires) ? now() + maxCacheMs : expires, now() + maxCacheMs);
      if (until > now()) {
        if (cache.size > 10_000) cache.clear();
        cache.set(token, { ctx, until });
      }
      return ctx;
    },
  };
}

export function makeAuthenticator(cfg: ServerConfig): Authenticator {
  return cfg.auth === 'keystone' ? keystone(cfg) : noauth(cfg);
}
