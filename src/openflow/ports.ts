// Reserved port numbers (ofp_port_no) and their names, and the other reserved ids: any group,
// all tables, no buffer.
import type { PortName, PortNo } from './types.js';
import { OfEncodeError } from './errors.js';

export const OFPP_MAX = 0xffffff00;
export const OFPP_IN_PORT = 0xfffffff8;
export const OFPP_TABLE = 0xfffffff9;
export const OFPP_NORMAL = 0xfffffffa;
export const OFPP_FLOOD = 0xfffffffb;
export const OFPP_ALL = 0xfffffffc;
export const OFPP_CONTROLLER = 0xfffffffd;
export const OFPP_LOCAL = 0xfffffffe;
export const OFPP_ANY = 0xffffffff;
export const OFPG_ANY = 0xffffffff;
export const OFPTT_ALL = 0xff;
export const OFP_NO_BUFFER = 0xffffffff;

const NAMED: Readonly<Record<PortName, number>> = {
  in_port: OFPP_IN_PORT,
  table: OFPP_TABLE,
  normal: OFPP_NORMAL,
  flood: OFPP_FLOOD,
  all: OFPP_ALL,
  controller: OFPP_CONTROLLER,
  local: OFPP_LOCAL,
  any: OFPP_ANY,
};
const BY_NUMBER = new Map<number, PortName>(Object.entries(NAMED).map(([k, v]) => [v, k as PortName]));

export function portToNumber(port: PortNo): number {
  if (typeof port === 'number') {
    if (!Number.isInteger(port) || port < 0 || port > 0xffffffff) {
      throw new OfEncodeError('bad_value', `bad port ${port}`);
    }
    return port;
  }
  const n = NAMED[port];
  if (n === undefined) throw new OfEncodeError('bad_value', `bad port name ${String(port)}`);
  return n;
}

export function portFromNumber(n: number): PortNo {
  return BY_NUMBER.get(n) ?? n;
}

/** 32-bit OF1.1+ port to the 16-bit form used by Nicira actions (reserved ports 0xfff8..0xffff). */
export function portTo16(port: PortNo): number {
  const n = portToNumber(port);
  if (n >= OFPP_MAX) return n - 0xffff0000;
  if (n > 0xfeff) throw new OfEncodeError('bad_value', `port ${n} does not fit a 16-bit port`);
  return n;
}

export function portFrom16(n: number): PortNo {
  return n >= 0xff00 ? portFromNumber(n + 0xffff0000) : n;
}
