export * from './errors.js';
export * from './framing.js';
export * from './datum.js';
export * from './operations.js';
export * from './client.js';
export * from './replica.js';
export * from './vswitch.js';
