/** Flows owned by the pipeline itself: each stage's miss flow and the tunnel ports' classification. */
import type { FlowBuilder } from '../flow-builder.js';
import { STAGE_LIST, type StageName } from '../stages.js';
import { PUNT_MAX_LEN } from '../conventions.js';
import { receiveEncaps, type CompileContext } from './context.js';

export const PRIO_MISS = 0;
export const PRIO_CLASSIFY_TUNNEL = 100;

export function compileMissFlows(b: FlowBuilder): void {
  for (const st of STAGE_LIST) {
    const miss = st.miss;
    if (miss.kind === 'drop') b.flow(st.name, { priority: PRIO_MISS });
    else if (miss.kind === 'goto') b.flow(st.name, { priority: PRIO_MISS, goto: miss.stage as StageName });
    else b.flow(st.name, { priority: PRIO_MISS, actions: [{ type: 'output', port: 'controller', maxLen: PUNT_MAX_LEN }] });
  }
}

export function compileTunnelClassify(b: FlowBuilder, ctx: CompileContext): void {
  for (const { ofport } of receiveEncaps(ctx)) {
    b.flow('classify', { priority: PRIO_CLASSIFY_TUNNEL, match: { in_port: ofport }, goto: 'tunnel_in' });
  }
}
