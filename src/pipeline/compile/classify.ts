/** classify: a local VIF's in_port → reg14 (port key) + metadata (network key) → port_sec_in. */
import type { NetworkInfo, PortInfo } from '../topology.js';
import type { FlowBuilder } from '../flow-builder.js';
import { setNetwork, setReg } from './actions.js';

export const PRIO_CLASSIFY_VIF = 100;

export function compileClassify(b: FlowBuilder, port: PortInfo, net: NetworkInfo, ofport: number, active: boolean): void {
  if (!active) {
    // admin down (port or network): an explicit, traceable drop.
    b.flow('classify', { priority: PRIO_CLASSIFY_VIF, match: { in_port: ofport } });
    return;
  }
  b.flow('classify', {
    priority: PRIO_CLASSIFY_VIF,
    match: { in_port: ofport },
    actions: [setNetwork(net.key), setReg('reg14', port.key)],
    goto: 'port_sec_in',
  });
}
