/**
 * Every message the pipeline produces for the fixture cloud (geneve and vxlan) encodes with the
 * OpenFlow codec, and decodes back to the same canonical flow / group: what we compare against
 * (the installed mirror read from the switch) is what we sent.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec.js';
import type { OfMessage } from '../../../src/openflow/types.js';
import {
  InstalledTable,
  TUN_METADATA_LENGTHS,
  canonicalInstructions,
  canonicalMatch,
  diff,
  fullCompile,
} from '../../../src/pipeline/index.js';
import { groupValueKey } from '../../../src/pipeline/canonical.js';
import { World } from './fixture.js';

describe('pipeline messages through the codec', () => {
  for (const encap of ['geneve', 'vxlan'] as const) {
    it(`encode and decode back to the same canonical form (${encap})`, () => {
      const msgs = diff(fullCompile(World.standard(encap).snapshot()), new InstalledTable());
      expect(msgs.length).toBeGreaterThan(50);
      for (const m of msgs) {
        const msg = { ...m, xid: 1 } as OfMessage;
        const bytes = encodeMessage(msg, { tunMetadataLengths: TUN_METADATA_LENGTHS });
        const r = decodeMessage(bytes);
        if (!r.ok) throw new Error(`decode failed: ${JSON.stringify(r)}`);
        const d = r.msg;
        expect(d.type).toBe(m.type);
        if (d.type === 'flow_mod' && m.type === 'flow_mod') {
          expect(canonicalMatch(d.match)).toBe(canonicalMatch(m.match));
          expect(canonicalInstructions(d.instructions)).toBe(canonicalInstructions(m.instructions));
          expect(d.cookie).toBe(m.cookie);
        }
        if (d.type === 'group_mod' && m.type === 'group_mod') {
          expect(groupValueKey(d)).toBe(groupValueKey(m));
        }
      }
    });
  }
});
