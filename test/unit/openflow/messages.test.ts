import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../src/openflow/codec.js';
import { frameLength } from '../../../src/openflow/header.js';
import { OfDecodeError } from '../../../src/openflow/errors.js';
import { MESSAGE_FIXTURES } from './message-fixtures.js';
import { hex } from './hex.js';

describe('message fixtures', () => {
  for (const f of MESSAGE_FIXTURES) {
    describe(f.name, () => {
      const bytes = hex(f.hex);

      it('fixture length matches its header', () => {
        expect(frameLength(bytes)).toBe(bytes.length);
      });

      it('decodes', () => {
        const d = decodeMessage(bytes);
        expect(d).toEqual({ ok: true, msg: f.msg, length: bytes.length });
      });

      it('encodes', () => {
        expect(encodeMessage(f.msg).toString('hex')).toBe(bytes.toString('hex'));
      });

      it('round trips', () => {
        const d = decodeMessage(encodeMessage(f.msg));
        expect(d.ok && d.msg).toEqual(f.msg);
      });

      it('every proper prefix asks for more, never throws', () => {
        for (let i = 0; i < bytes.length; i++) {
          const d = decodeMessage(bytes.subarray(0, i));
          expect(d.ok).toBe(false);
          expect('need' in d && d.need).toBe(i < 4 ? 8 : bytes.length);
        }
      });

      it('decodes with trailing bytes of the next frame', () => {
        const d = decodeMessage(Buffer.concat([bytes, Buffer.from([4, 0, 0])]));
        expect(d.ok && d.length).toBe(bytes.length);
      });
    });
  }
});

describe('decode errors', () => {
  it('rejects a frame length below the header size', () => {
    const d = decodeMessage(hex('04 00 0004 00000000'));
    expect('error' in d && d.error).toBeInstanceOf(OfDecodeError);
    expect('error' in d && d.error.code).toBe('bad_length');
  });

  it('rejects other versions (except hello) with the frame length', () => {
    const d = decodeMessage(hex('01 0e 000c 00000001 | 00000000'));
    expect('error' in d && d.error.code).toBe('bad_version');
    expect('error' in d && d.error.length).toBe(12);
  });

  it('decodes a bare OF1.0 hello', () => {
    expect(decodeMessage(hex('01 00 0008 00000001'))).toEqual({
      ok: true,
      msg: { type: 'hello', xid: 1, versions: [1] },
      length: 8,
    });
  });

  it('reports truncated bodies as typed errors with the frame length', () => {
    const d = decodeMessage(hex('04 06 000c 00000005 | 00000000 # features_reply cut short'));
    expect('error' in d && d.error.code).toBe('truncated');
    expect('error' in d && d.error.length).toBe(12);
  });

  it('rejects bad action lengths inside a flow_mod', () => {
    const d = decodeMessage(
      hex(`04 0e 0048 00000001 | 0000000000000000 0000000000000000 00 00 0000 0000 0000 ffffffff ffffffff ffffffff 0000 0000
           0001 0004 00000000 | 0004 0010 00000000 | 0000 0009 00000001`),
    );
    expect('error' in d && d.error.code).toBe('bad_action');
  });
});
