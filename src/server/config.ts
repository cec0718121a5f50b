/** Server configuration: defaults, the JSON config file, and validation of the segment ranges. */
import { readFileSync } from 'node:fs';
import { QUOTA_RESOURCES } from './quota-resources.js';

export type AuthMode = 'noauth' | 'keystone';

export interface SegmentRanges {
  /** Inclusive [min, max] ranges of Geneve VNIs for tenant networks. */
  readonly geneve: readonly (readonly [number, number])[];
  readonly vxlan: readonly (readonly [number, number])[];
  /** VLAN id ranges per physical network, e.g. { physnet1: [[100, 199]] }. */
  readonly vlan: Readonly<Record<string, readonly (readonly [number, number])[]>>;
  /** Physical networks allowed for flat networks ('*' allows any). */
  readonly flat: readonly string[];
}

export interface ServerConfig {
  readonly listen: string;
  readonly store: string;
  readonly auth: AuthMode;
  /** noauth: project used when a request has no X-Project-Id. */
  readonly defaultProject: string;
  /** noauth: whether requests without X-Project-Id act as admin (Neutron's noauth is admin). */
  readonly noauthDefaultAdmin: boolean;
  readonly keystone?: {
    /** Keystone base URL, e.g. http://127.0.0.1:5000 (the /v3 path is appended). */
    readonly url: string;
    /** Token sent as X-Auth-Token when validating; without it the user's token validates itself. */
    readonly serviceToken?: string;
    /** Upper bound on how long a validated token is cached, seconds (default 300). */
    readonly cacheSeconds?: number;
  };
  /** First three octets of generated MACs (Neutron's base_mac), e.g. fa:16:3e:00:00:00. */
  readonly baseMac: string;
  /** Type of tenant networks created without provider attributes. */
  readonly tenantNetworkType: 'geneve' | 'vxlan';
  readonly segments: SegmentRanges;
  /** MTU of the underlay; overlay networks subtract their encapsulation overhead. */
  readonly physicalMtu: number;
  /** Largest accepted request body in bytes. */
  readonly maxBodyBytes: number;
  /**
   * Default per-project quotas by Neutron resource name (`network`, `port`, ...); absent or -1 =
   * unlimited (the default). Admins override them per project through `/v2.0/quotas`.
   */
  readonly quotaDefaults: Readonly<Record<string, number>>;
}

export const DEFAULT_CONFIG: ServerConfig = {
  listen: '127.0.0.1:9696',
  store: 'sqlite:',
  auth: 'noauth',
  defaultProject: 'admin',
  noauthDefaultAdmin: true,
  baseMac: 'fa:16:3e:00:00:00',
  tenantNetworkType: 'geneve',
  segments: { geneve: [[1, 65535]], vxlan: [[1, 65535]], vlan: {}, flat: ['*'] },
  physicalMtu: 1500,
  maxBodyBytes: 1024 * 1024,
  quotaDefaults: {},
};

/** Encapsulation overhead per network type (IPv4 underlay), as Neutron computes it. */
export const ENCAP_OVERHEAD: Readonly<Record<string, number>> = { geneve: 58, vxlan: 50, vlan: 0, flat: 0, local: 0 };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Merge a partial configuration over the defaults and check it. */
export function makeConfig(partial: Partial<ServerConfig> = {}): ServerConfig {
  const cfg: ServerConfig = {
    ...DEFAULT_CONFIG,
    ...partial,
    segments: { ...DEFAULT_CONFIG.segments, ...(partial.segments ?? {}) },
  };
  if (cfg.auth !== 'noauth' && cfg.auth !== 'keystone') throw new ConfigError(`auth must be noauth or keystone, not ${String(cfg.auth)}`);
  if (cfg.auth === 'keystone' && !cfg.keystone?.url) throw new ConfigError('auth keystone needs keystone.url');
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(cfg.baseMac)) throw new ConfigError(`bad baseMac ${cfg.baseMac}`);
  const checkRanges = (name: string, rs: readonly (readonly [number, number])[], max: number): void => {
    for (const r of rs) {
      if (!Array.isArray(r) || r.length !== 2 || !Number.isInteger(r[0]) || !Number.isInteger(r[1]) || r[0] < 1 || r[1] > max || r[0] > r[1]) {
        throw new ConfigError(`bad ${name} range ${JSON.stringify(r)}`);
      }
    }
  };
  checkRanges('geneve', cfg.segments.geneve, 0xffffff);
  checkRanges('vxlan', cfg.segments.vxlan, 0xffffff);
  for (const [p, rs] of Object.entries(cfg.segments.vlan)) checkRanges(`vlan ${p}`, rs, 4094);
  for (const [r, n] of Object.entries(cfg.quotaDefaults)) {
    if (!(r in QUOTA_RESOURCES) || !Number.isInteger(n) || n < -1) throw new ConfigError(`bad quotaDefaults ${r}: ${String(n)}`);
  }
  return cfg;
}

/** Read a JSON config file (same field names as ServerConfig). */
export function loadConfigFile(path: string): Partial<ServerConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config ${path} must be a JSON object`);
  return parsed as Partial<ServerConfig>;
}
