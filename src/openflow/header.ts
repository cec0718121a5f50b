// ofp_header (8 bytes): version u8, type u8, length u16, xid u32. The one place that says so.

/** OpenFlow 1.3 on the wire. */
export const OFP13_VERSION = 0x04;
export const OFP_HEADER_LEN = 8;
/** The largest length the 16-bit OpenFlow header can carry. */
export const OFP_MAX_FRAME = 0xffff;

/** OpenFlow 1.3 message type numbers (ofp_type). */
export const enum OFPT {
  HELLO = 0,
  ERROR = 1,
  ECHO_REQUEST = 2,
  ECHO_REPLY = 3,
  EXPERIMENTER = 4,
  FEATURES_REQUEST = 5,
  FEATURES_REPLY = 6,
  GET_CONFIG_REQUEST = 7,
  GET_CONFIG_REPLY = 8,
  SET_CONFIG = 9,
  PACKET_IN = 10,
  FLOW_REMOVED = 11,
  PORT_STATUS = 12,
  PACKET_OUT = 13,
  FLOW_MOD = 14,
  GROUP_MOD = 15,
  PORT_MOD = 16,
  TABLE_MOD = 17,
  MULTIPART_REQUEST = 18,
  MULTIPART_REPLY = 19,
  BARRIER_REQUEST = 20,
  BARRIER_REPLY = 21,
  QUEUE_GET_CONFIG_REQUEST = 22,
  QUEUE_GET_CONFIG_REPLY = 23,
  ROLE_REQUEST = 24,
  ROLE_REPLY = 25,
  GET_ASYNC_REQUEST = 26,
  GET_ASYNC_REPLY = 27,
  SET_ASYNC = 28,
  METER_MOD = 29,
}

export interface OfHeader {
  readonly version: number;
  readonly type: number;
  readonly length: number;
  readonly xid: number;
}

/** Length of the frame starting at buf[0], or undefined if fewer than 4 bytes are available. */
export function frameLength(buf: Uint8Array): number | undefined {
  if (buf.length < 4) return undefined;
  return (buf[2] << 8) | buf[3];
}

/** Read the 8-byte header at the start of `buf` (caller guarantees `buf.length >= 8`). */
export function readHeader(buf: Buffer): OfHeader {
  return { version: buf[0], type: buf[1], length: buf.readUInt16BE(2), xid: buf.readUInt32BE(4) };
}

/** Build a header-only message (or the header of a message with `length` bytes in total). */
export function writeHeader(version: number, type: number, length: number, xid: number): Buffer {
  const b = Buffer.allocUnsafe(OFP_HEADER_LEN);
  b[0] = version;
  b[1] = type;
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(xid >>> 0, 4);
  return b;
}
