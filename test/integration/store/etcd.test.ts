import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidStoreRequestError } from '../../../src/store/errors.js';
import { parseEtcdUrl } from '../../../src/store/etcd-url.js';
import { openStore } from '../../../src/store/open.js';
import { EtcdProcess } from '../../support/etcd.js';
import { storeConformance } from '../../unit/store/conformance.js';

let etcd: EtcdProcess;
beforeAll(async () => {
  etcd = await EtcdProcess.start();
});
afterAll(async () => {
  await etcd?.stop();
});

storeConformance('etcd', {
  open: async () => openStore(`etcd:${etcd.url}?prefix=/wyvern-test/`),
  disrupt: async () => etcd.restart(500),
  minLeaseTtl: 2,
});

describe('etcd specifics', () => {
  it('refuses a txn that touches one key twice with InvalidStoreRequestError', async () => {
    const store = await openStore(`etcd:${etcd.url}?prefix=/wyvern-dup/`);
    await expect(
      store.txn({ compare: [], success: [{ type: 'put', key: '/d', value: '1' }, { type: 'put', key: '/d', value: '2' }] }),
    ).rejects.toBeInstanceOf(InvalidStoreRequestError);
    await store.close();
  });
});

describe('etcd URL', () => {
  it('parses hosts and prefix', () => {
    expect(parseEtcdUrl('etcd:http://a:2379,b:2379?prefix=/x/')).toEqual({ hosts: ['http://a:2379', 'http://b:2379'], prefix: '/x/' });
  });
});
