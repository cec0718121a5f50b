/** Read the packets of a classic libpcap file (what OVS's dummy netdev writes with tx_pcap). */
import { existsSync, readFileSync } from 'node:fs';

export function readPcap(path: string): Buffer[] {
  if (!existsSync(path)) return [];
  const b = readFileSync(path);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const out: Buffer[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const caplen = u32(off + 8);
    if (off + 16 + caplen > b.length) break;
    out.push(b.subarray(off + 16, off + 16 + caplen));
    off += 16 + caplen;
  }
  return out;
}
