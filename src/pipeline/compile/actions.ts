/** Small action constructors shared by the compilers. */
import type { Action } from '../../openflow/types.js';
import { GENEVE_PORT_FIELD, PUNT_MAX_LEN, vxlanFloodVni, vxlanUnicastVni } from '../conventions.js';
import type { TunnelPath } from './context.js';

/**
 * metadata := network key. set_field in apply_actions rather than the write_metadata instruction:
 * OpenFlow runs write_metadata after apply_actions, so a group in the same flow would not see it.
 */
export function setNetwork(key: number): Action {
  return { type: 'set_field', field: 'metadata', value: BigInt(key) };
}

export function setReg(reg: 'reg14' | 'reg15', value: number): Action {
  return { type: 'set_field', field: reg, value };
}

/** Actions that send the packet into a tunnel to `path`, carrying network + destination port. */
export function tunnelActions(path: TunnelPath, networkKey: number, portKey: number): Action[] {
  const out: Action[] = [{ type: 'set_field', field: 'tun_ipv4_dst', value: path.remoteIp }];
  if (path.encap === 'geneve') {
    out.push({ type: 'set_field', field: 'tunnel_id', value: BigInt(networkKey) });
    out.push({ type: 'set_field', field: GENEVE_PORT_FIELD, value: BigInt(portKey) });
  } else {
    out.push({
      type: 'set_field',
      field: 'tunnel_id',
      value: portKey === 0 ? vxlanFloodVni(networkKey) : vxlanUnicastVni(portKey),
    });
  }
  out.push({ type: 'output', port: path.ofport });
  return out;
}

/** Send the packet to the controller with a punt's userdata (see conventions.ts). */
export function puntActions(userdata: Buffer): Action[] {
  return [{ type: 'controller2', maxLen: PUNT_MAX_LEN, reason: 'action', userdata }];
}
