/** The north-bound store's public surface: the interface, typed errors and `openStore`. */
export type * from './types.js';
export * from './errors.js';
export { openStore } from './open.js';
export { MemoryStore } from './memory.js';
export { createStoreHttpHandler, type StoreHttpOptions } from './http-service.js';
