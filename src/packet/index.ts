/** Packet codecs: one import point for the controller and tests. */
export * from './result.js';
export * from './addr.js';
export * from './checksum.js';
export * from './l4-context.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './icmp.js';
export * from './icmpv6.js';
export * from './udp.js';
export * from './tcp.js';
export * from './dhcp.js';
export * from './builders.js';
