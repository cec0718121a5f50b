/** The pure pipeline: registry, conventions, compilers, desired state, reconciliation. No I/O. */
export * from './stages.js';
export * from './conventions.js';
export * from './errors.js';
export * from './flow.js';
export { FlowBuilder, resubmitTo, type FlowSpec } from './flow-builder.js';
export { canonicalMatch, canonicalInstructions, flowKey, flowKeyOf } from './canonical.js';
export { compileOwner, allOwners, affectedOwners } from './compile/index.js';
export { DesiredTable, applyOwners, fullCompile, updateDesired, dumpFlows } from './desired.js';
export {
  InstalledTable,
  diff,
  diffTracked,
  flowMod,
  groupMod,
  type DiffScope,
  type FlowModMessage,
  type GroupModMessage,
  type InstalledFlow,
  type PipelineMessage,
} from './reconcile.js';
export {
  REACTIVE_IDLE_TIMEOUT,
  reactiveCookie,
  reactiveDeleteAll,
  reactiveDeleteForPort,
  reactiveDeleteForRouter,
  reactiveFlow,
  reactiveFlowMod,
  reactiveInvalidations,
  routeLookup,
  routerInterfaceOn,
  routerInterfaces,
  type RouterInterfaceInfo,
} from './reactive.js';
export { floatingIpView } from './compile/nat.js';
export { contextOf, externalHere, localnetOf, type Localnet } from './compile/context.js';
export { routerView } from './compile/l3.js';
