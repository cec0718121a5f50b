import { describe, expect, it } from 'vitest';
import {
  FlowBuilder,
  PipelineBuildError,
  STAGE_LIST,
  decodeCookie,
  ownerCookie,
  resubmitTo,
  stage,
  stageOfTable,
  tableId,
  floodGroupId,
  localFloodGroupId,
  decodeGroupId,
  vxlanFloodVni,
} from '../../../src/pipeline/index.js';

describe('stage registry', () => {
  it('derives table ids from the declaration order', () => {
    STAGE_LIST.forEach((s, i) => {
      expect(s.tableId).toBe(i);
      expect(stageOfTable(i)?.name).toBe(s.name);
    });
    expect(tableId('classify')).toBe(0);
    expect(tableId('output_tunnel')).toBe(STAGE_LIST.length - 1);
  });

  it('declares next stages that come later, and miss gotos that are declared next', () => {
    for (const s of STAGE_LIST) {
      for (const n of s.next) expect(stage(n).tableId).toBeGreaterThan(s.tableId);
      if (s.miss.kind === 'goto') expect(s.next).toContain(s.miss.stage);
    }
  });

  it('rejects an undeclared match field at build time', () => {
    const b = new FlowBuilder({ kind: 'port', key: 1 });
    try {
      b.flow('classify', { priority: 10, match: { eth_src: 'aa:bb:cc:dd:ee:ff' } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PipelineBuildError);
      expect((e as PipelineBuildError).code).toBe('undeclared_match_field');
    }
  });

  it('rejects a goto or resubmit to a stage not declared as next', () => {
    const b = new FlowBuilder({ kind: 'port', key: 1 });
    expect(() => b.flow('classify', { priority: 10, goto: 'l2_lookup' })).toThrowError(PipelineBuildError);
    expect(() => b.flow('classify', { priority: 10, actions: [resubmitTo('output_local')] })).toThrowError(
      expect.objectContaining({ code: 'undeclared_next_stage' }),
    );
    expect(() => b.flow('egress_dispatch', { priority: 10, actions: [resubmitTo('acl_ingress')] })).not.toThrow();
  });

  it('rejects group buckets entering a non group-entry stage; L3 stages are open (no reserved stage left)', () => {
    const b = new FlowBuilder({ kind: 'network', key: 1 });
    expect(() => b.group(1, 'all', [[resubmitTo('l2_lookup')]])).toThrowError(
      expect.objectContaining({ code: 'bad_group_target' }),
    );
    expect(STAGE_LIST.filter((s) => s.reserved)).toEqual([]);
    const f = b.flow('l3_route', { priority: 10, match: { reg13: 1 }, meter: 1, goto: 'l3_undnat' });
    expect(f.instructions[0]).toEqual({ type: 'meter', meterId: 1 });
    expect(() => b.flow('l3_route', { priority: 10, goto: 'egress_dispatch' })).toThrowError(
      expect.objectContaining({ code: 'undeclared_next_stage' }),
    );
  });

  it('cookies decode back to their owner', () => {
    for (const o of [
      { kind: 'port', key: 42 },
      { kind: 'network', key: 0x7fffff },
      { kind: 'pipeline', key: 0 },
      { kind: 'router', key: 7 },
    ] as const) {
      expect(decodeCookie(ownerCookie(o))).toEqual(o);
    }
    expect(decodeCookie(0x1234n << 40n)).toBeUndefined();
    expect(decodeCookie(0n)).toBeUndefined();
  });

  it('group ids and VNIs follow the documented layout', () => {
    expect(floodGroupId(5)).toBe(0x10000005);
    expect(localFloodGroupId(5)).toBe(0x20000005);
    expect(decodeGroupId(0x20000005)).toEqual({ kind: 'local_flood', key: 5 });
    expect(vxlanFloodVni(3)).toBe(0x800003n);
  });
});
