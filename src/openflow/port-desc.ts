// ofp_port (64 bytes), used by PORT_STATUS and PORT_DESC replies.
import type { PortDesc } from './types.js';
import { BufferReader } from './buffer-reader.js';
import { BufferWriter } from './buffer-writer.js';
import { bytesToMac, macToBytes } from './addr.js';
import { OfEncodeError } from './errors.js';

export const OFP_PORT_LEN = 64;

export function writePortDesc(w: BufferWriter, p: PortDesc): void {
  const name = Buffer.from(p.name, 'utf8');
  if (name.length > 15) throw new OfEncodeError('too_long', `port name ${p.name} longer than 15 bytes`);
  w.u32(p.portNo).zeros(4).bytes(macToBytes(p.hwAddr)).zeros(2);
  w.bytes(name).zeros(16 - name.length);
  w.u32(p.config).u32(p.state).u32(p.curr).u32(p.advertised).u32(p.supported).u32(p.peer);
  w.u32(p.currSpeed).u32(p.maxSpeed);
}

export function readPortDesc(r: BufferReader): PortDesc {
  const portNo = r.u32();
  r.skip(4);
  const hwAddr = bytesToMac(r.bytes(6));
  r.skip(2);
  const rawName = r.bytes(16);
  const nul = rawName.indexOf(0);
  const name = rawName.subarray(0, nul < 0 ? 16 : nul).toString('utf8');
  return {
    portNo,
    hwAddr,
    name,
    config: r.u32(),
    state: r.u32(),
    curr: r.u32(),
    advertised: r.u32(),
    supported: r.u32(),
    peer: r.u32(),
    currSpeed: r.u32(),
    maxSpeed: r.u32(),
  };
}
