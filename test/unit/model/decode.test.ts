import { describe, expect, it } from 'vitest';
import { DecodeError, decodeJson } from '../../../src/model/decode.js';
import { portRecord, securityGroupRuleRecord } from '../../../src/model/record-decoders.js';
import { collectionOfKey, aboutStored } from '../../../src/model/collections.js';
import { encodeRecord } from '../../../src/model/record-codec.js';
import { resourceKey } from '../../../src/model/keys.js';
import { portRec, ruleRec } from '../../support/nb-records.js';

describe('checked decoders of north-bound records', () => {
  it('accepts a complete record and keeps fields it does not know', () => {
    const p = { ...portRec('p1', 'n1'), future_field: 1 };
    expect(decodeJson(JSON.stringify(p), portRecord)).toEqual(p);
  });

  it('names the path of the first bad field', () => {
    const bad = { ...portRec('p1', 'n1'), fixed_ips: [{ subnet_id: 's', ip_address: 7 }] };
    expect(() => decodeJson(JSON.stringify(bad), portRecord)).toThrow(DecodeError);
    expect(() => decodeJson(JSON.stringify(bad), portRecord)).toThrow(/fixed_ips\[0\]\.ip_address/);
    const noKey = { ...ruleRec('r', 'g') } as Record<string, unknown>;
    delete noKey.key;
    expect(() => decodeJson(JSON.stringify(noKey), securityGroupRuleRecord)).toThrow(/^key: expected an integer/);
    expect(() => decodeJson('{', portRecord)).toThrow(/not JSON/);
  });
});

describe('collections: what a record is about', () => {
  it('from the header: a port is about its network, itself, its router, its groups\' members', () => {
    const key = resourceKey('ports', 'p1');
    const text = encodeRecord(portRec('p1', 'n1', { device_owner: 'network:router_interface_distributed', device_id: 'R', security_groups: ['g1', 'g2'] }));
    expect(aboutStored(collectionOfKey(key)!, key, text)).toEqual(['net:n1', 'port:p1', 'router:R', 'sgm:g1', 'sgm:g2']);
  });

  it('a rule is about its group; a group about itself and its members', () => {
    const rk = resourceKey('security-group-rules', 'r1');
    expect(aboutStored(collectionOfKey(rk)!, rk, encodeRecord(ruleRec('r1', 'g1')))).toEqual(['sg:g1']);
    const gk = resourceKey('security-groups', 'g1');
    expect(aboutStored(collectionOfKey(gk)!, gk, '')).toEqual(['sg:g1', 'sgm:g1']);
    const fk = resourceKey('floatingips', 'f');
    expect(aboutStored(collectionOfKey(fk)!, fk, JSON.stringify({ id: 'f', port_id: 'p1' }))).toEqual(['fip:p1']);
    expect(aboutStored(collectionOfKey(fk)!, fk, JSON.stringify({ id: 'f', port_id: null }))).toEqual([]);
    expect(collectionOfKey(resourceKey('subnetpools', 'sp'))).toBeUndefined();
  });
});
