import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseListen } from '../../../src/cli/server.js';
import { ConfigError, loadConfigFile, makeConfig } from '../../../src/server/config.js';
import { UsageError } from '../../../src/cli/command.js';

describe('server configuration', () => {
  it('parses --listen', () => {
    expect(parseListen('127.0.0.1:9696')).toEqual({ host: '127.0.0.1', port: 9696 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => parseListen('nope')).toThrow(UsageError);
    expect(() => parseListen('h:99999')).toThrow(UsageError);
  });

  it('merges a config file over the defaults and validates it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wyvern-cfg-'));
    try {
      const file = path.join(dir, 'server.json');
      writeFileSync(file, JSON.stringify({ baseMac: 'fa:16:3e:00:00:00', segments: { vlan: { physnet1: [[100, 199]] } }, defaultProject: 'demo' }));
      const cfg = makeConfig(loadConfigFile(file));
      expect(cfg.defaultProject).toBe('demo');
      expect(cfg.segments.vlan).toEqual({ physnet1: [[100, 199]] });
      expect(cfg.segments.geneve).toEqual([[1, 65535]]);
      expect(cfg.listen).toBe('127.0.0.1:9696');
      writeFileSync(file, '{bad');
      expect(() => loadConfigFile(file)).toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => makeConfig({ baseMac: 'zz' })).toThrow(ConfigError);
    expect(() => makeConfig({ auth: 'keystone' })).toThrow(ConfigError);
    expect(() => makeConfig({ segments: { geneve: [[5, 1]], vxlan: [], vlan: {}, flat: [] } })).toThrow(ConfigError);
    expect(() => makeConfig({ segments: { geneve: [], vxlan: [], vlan: { p: [[1, 5000]] }, flat: [] } })).toThrow(ConfigError);
  });
});
