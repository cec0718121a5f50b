/**
 * DHCPv4 (RFC 2131/2132): BOOTP fixed header, magic cookie, typed options for the codes the
 * controller uses, unknown options preserved raw. Classless static routes per RFC 3442.
 * Long options (> 255 bytes) are split on encode and consecutive instances of one code are
 * concatenated on decode (RFC 3396). Not handled: option overload (52) into sname/file, and
 * pad options between other options (skipped on decode, not re-emitted).
 */
import { bytesToIpv4, bytesToMac, intToIpv4, parseCidr, writeIpv4 } from './addr.js';
import { fail, ok, PacketError, type Result } from './result.js';
import { guardEncode } from './udp.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const DHCP_MAGIC_COOKIE = 0x63825363;
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** Broadcast bit of the `flags` field. */
export const DHCP_FLAG_BROADCAST = 0x8000;
/** Fixed BOOTP header (236) + magic cookie (4). */
export const DHCP_MIN_LEN = 240;
/** Encoders pad messages without an explicit trailer to this size (RFC 1542 §3.4). */
export const BOOTP_MIN_LEN = 300;

export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

export interface Route {
  /** Destination as "a.b.c.d/len" (classless) or "a.b.c.d" (option 33, classful host/net). */
  readonly destination: string;
  readonly router: string;
}

export type DhcpOption =
  | { readonly type: 'subnet-mask'; readonly value: string } // 1
  | { readonly type: 'router'; readonly addresses: readonly string[] } // 3
  | { readonly type: 'dns-servers'; readonly addresses: readonly string[] } // 6
  | { readonly type: 'hostname'; readonly value: string } // 12
  | { readonly type: 'domain-name'; readonly value: string } // 15
  | { readonly type: 'mtu'; readonly value: number } // 26
  | { readonly type: 'broadcast-address'; readonly value: string } // 28
  | { readonly type: 'static-routes'; readonly routes: readonly Route[] } // 33
  | { readonly type: 'requested-ip'; readonly value: string } // 50
  | { readonly type: 'lease-time'; readonly value: number } // 51
  | { readonly type: 'message-type'; readonly value: number } // 53
  | { readonly type: 'server-id'; readonly value: string } // 54
  | { readonly type: 'parameter-request-list'; readonly codes: readonly number[] } // 55
  | { readonly type: 'max-message-size'; readonly value: number } // 57
  | { readonly type: 'renewal-time'; readonly value: number } // 58
  | { readonly type: 'rebinding-time'; readonly value: number } // 59
  | { readonly type: 'client-id'; readonly data: Buffer } // 61 (type byte included)
  | { readonly type: 'domain-search'; readonly domains: readonly string[] } // 119
  | { readonly type: 'classless-routes'; readonly routes: readonly Route[] } // 121
  /** Unknown codes, and known codes whose contents are malformed. `data` excludes code/length. */
  | { readonly type: 'raw'; readonly code: number; readonly data: Buffer };

export type DhcpOptionType = DhcpOption['type'];

export const DHCP_OPTION_CODES: Readonly<Record<Exclude<DhcpOptionType, 'raw'>, number>> = {
  'subnet-mask': 1,
  router: 3,
  'dns-servers': 6,
  hostname: 12,
  'domain-name': 15,
  mtu: 26,
  'broadcast-address': 28,
  'static-routes': 33,
  'requested-ip': 50,
  'lease-time': 51,
  'message-type': 53,
  'server-id': 54,
  'parameter-request-list': 55,
  'max-message-size': 57,
  'renewal-time': 58,
  'rebinding-time': 59,
  'client-id': 61,
  'domain-search': 119,
  'classless-routes': 121,
};

export interface DhcpMessage {
  readonly op: number;
  readonly htype: number;
  readonly hlen: number;
  readonly hops: number;
  readonly xid: number;
  readonly secs: number;
  readonly flags: number;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  /** All 16 bytes of chaddr as on the wire (see {@link dhcpClientMac}); shorter is zero-padded. */
  readonly chaddr: Buffer;
  /** 64 raw bytes; absent = zeros. */
  readonly sname?: Buffer;
  /** 128 raw bytes; absent = zeros. */
  readonly file?: Buffer;
  readonly options: readonly DhcpOption[];
  /**
   * Bytes after the END option. Decoders always set it; when absent, encoders zero-pad the
   * message to {@link BOOTP_MIN_LEN}.
   */
  readonly trailer?: Buffer;
}

// ------------------------------------------------------------------ decode

function addrList(d: Buffer): string[] | null {
  if (d.length === 0 || d.length % 4 !== 0) return null;
  const out: string[] = [];
  for (let i = 0; i < d.length; i += 4) out.push(bytesToIpv4(d, i));
  return out;
}

function decodeClasslessRoutes(d: Buffer): Route[] | null {
  const out: Route[] = [];
  let i = 0;
  while (i < d.length) {
    const width = d[i];
    if (width > 32) return null;
    const sig = (width + 7) >> 3;
    if (i + 1 + sig + 4 > d.length) return null;
    let n = 0;
    for (let k = 0; k < 4; k++) n = n * 256 + (k < sig ? d[i + 1 + k] : 0);
    const c = parseCidr(`${intToIpv4(n)}/${width}`);
    if (!c || c.family !== 4 || c.networkInt !== n) return null; // host bits set: not canonical
    out.push({ destination: `${c.network}/${width}`, router: bytesToIpv4(d, i + 1 + sig) });
    i += 1 + sig + 4;
  }
  return out.length > 0 ? out : null;
}

/** RFC 1035 §4.1.4 names with compression pointers relative to the option data. */
function decodeDomainSearch(d: Buffer): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < d.length) {
    const labels: string[] = [];
    let p = i;
    let next = -1;
    let jumps = 0;
    while (true) {
      if (p >= d.length) return null;
      const len = d[p];
      if (len === 0) {
        if (next < 0) next = p + 1;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        if (p + 1 >= d.length || ++jumps > 64) return null;
        if (next < 0) next = p + 2;
        p = ((len & 0x3f) << 8) | d[p + 1];
        continue;
      }
      if (len > 63 || p + 1 + len > d.length) return null;
      labels.push(d.toString('latin1', p + 1, p + 1 + len));
      p += 1 + len;
    }
    out.push(labels.join('.'));
    i = next;
  }
  return out.length > 0 ? out : null;
}

function decodeOption(code: number, d: Buffer): DhcpOption {
  const raw: DhcpOption = { type: 'raw', code, data: d };
  const u8 = d.length === 1 ? d[0] : -1;
  const u16 = d.length === 2 ? d.readUInt16BE(0) : -1;
  const u32 = d.length === 4 ? d.readUInt32BE(0) : -1;
  const ip = d.length === 4 ? bytesToIpv4(d, 0) : null;
  switch (code) {
    case 1:
      return ip ? { type: 'subnet-mask', value: ip } : raw;
    case 3:
    case 6: {
      const a = addrList(d);
      return a ? { type: code === 3 ? 'router' : 'dns-servers', addresses: a } : raw;
    }
    case 12:
    case 15:
      return d.length > 0 ? { type: code === 12 ? 'hostname' : 'domain-name', value: d.toString('latin1') } : raw;
    case 26:
      return u16 >= 0 ? { type: 'mtu', value: u16 } : raw;
    case 28:
      return ip ? { type: 'broadcast-address', value: ip } : raw;
    case 33: {
      if (d.length === 0 || d.length % 8 !== 0) return raw;
      const routes: Route[] = [];
      for (let i = 0; i < d.length; i += 8) routes.push({ destination: bytesToIpv4(d, i), router: bytesToIpv4(d, i + 4) });
      return { type: 'static-routes', routes };
    }
    case 50:
      return ip ? { type: 'requested-ip', value: ip } : raw;
    case 51:
      return u32 >= 0 ? { type: 'lease-time', value: u32 } : raw;
    case 53:
      return u8 >= 0 ? { type: 'message-type', value: u8 } : raw;
    case 54:
      return ip ? { type: 'server-id', value: ip } : raw;
    case 55:
      return d.length > 0 ? { type: 'parameter-request-list', codes: Array.from(d) } : raw;
    case 57:
      return u16 >= 0 ? { type: 'max-message-size', value: u16 } : raw;
    case 58:
      return u32 >= 0 ? { type: 'renewal-time', value: u32 } : raw;
    case 59:
      return u32 >= 0 ? { type: 'rebinding-time', value: u32 } : raw;
    case 61:
      return d.length >= 2 ? { type: 'client-id', data: d } : raw;
    case 119: {
      const domains = decodeDomainSearch(d);
      return domains ? { type: 'domain-search', domains } : raw;
    }
    case 121: {
      const routes = decodeClasslessRoutes(d);
      return routes ? { type: 'classless-routes', routes } : raw;
    }
    default:
      return raw;
  }
}

/** Decodes a DHCP message (the UDP payload). Options must end with END (255). */
export function decodeDhcp(buf: Buffer): Result<DhcpMessage> {
  if (buf.length < DHCP_MIN_LEN) return fail('truncated', 'dhcp', `need ${DHCP_MIN_LEN} bytes, have ${buf.length}`, 0);
  if (buf.readUInt32BE(236) !== DHCP_MAGIC_COOKIE) return fail('bad-header', 'dhcp', 'bad magic cookie', 236);
  const hlen = buf[2];
  if (hlen > 16) return fail('bad-header', 'dhcp', `hlen ${hlen} > 16`, 2);
  const options: DhcpOption[] = [];
  let o = DHCP_MIN_LEN;
  let end = -1;
  while (o < buf.length) {
    const code = buf[o];
    if (code === 0) {
      o++;
      continue;
    }
    if (code === 255) {
      end = o + 1;
      break;
    }
    if (o + 2 > buf.length) return fail('truncated', 'dhcp', `option ${code} length missing`, o);
    const len = buf[o + 1];
    if (o + 2 + len > buf.length) return fail('truncated', 'dhcp', `option ${code} needs ${len} bytes`, o);
    let data = buf.subarray(o + 2, o + 2 + len);
    o += 2 + len;
    // RFC 3396: a long option is split into consecutive instances with the same code.
    if (o < buf.length && buf[o] === code) {
      const parts = [data];
      while (o < buf.length && buf[o] === code) {
        if (o + 2 > buf.length) return fail('truncated', 'dhcp', `option ${code} length missing`, o);
        const l = buf[o + 1];
        if (o + 2 + l > buf.length) return fail('truncated', 'dhcp', `option ${code} needs ${l} bytes`, o);
        parts.push(buf.subarray(o + 2, o + 2 + l));
        o += 2 + l;
      }
      data = Buffer.concat(parts);
    }
    options.push(decodeOption(code, data));
  }
  if (end < 0) return fail('truncated', 'dhcp', 'no END option', buf.length);
  return ok({
    op: buf[0],
    htype: buf[1],
    hlen,
    hops: buf[3],
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: bytesToIpv4(buf, 12),
    yiaddr: bytesToIpv4(buf, 16),
    siaddr: bytesToIpv4(buf, 20),
    giaddr: bytesToIpv4(buf, 24),
    chaddr: buf.subarray(28, 44),
    sname: buf.subarray(44, 108),
    file: buf.subarray(108, 236),
    options,
    trailer: buf.subarray(end),
  });
}

// ------------------------------------------------------------------ encode

function optionCode(opt: DhcpOption): number {
  return opt.type === 'raw' ? opt.code : DHCP_OPTION_CODES[opt.type];
}

function bad(msg: string): never {
  throw new PacketError('bad-option', 'dhcp', msg);
}

function ipBytes(s: string): Buffer {
  const b = Buffer.allocUnsafe(4);
  if (!writeIpv4(s, b, 0)) throw new PacketError('bad-address', 'dhcp', `bad address ${s}`);
  return b;
}

function u(n: number, size: 1 | 2 | 4): Buffer {
  const b = Buffer.allocUnsafe(size);
  if (size === 1) b[0] = n & 0xff;
  else if (size === 2) b.writeUInt16BE(n & 0xffff, 0);
  else b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function encodeDomainNames(names: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const name of names) {
    for (const label of name.split('.')) {
      if (label === '') continue;
      if (label.length > 63) bad(`label too long in ${name}`);
      parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'));
    }
    parts.push(Buffer.from([0]));
  }
  return Buffer.concat(parts);
}

function encodeClasslessRoutes(routes: readonly Route[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of routes) {
    const c = parseCidr(r.destination.includes('/') ? r.destination : `${r.destination}/32`);
    if (!c || c.family !== 4) bad(`bad classless route destination ${r.destination}`);
    const sig = (c.prefixLen + 7) >> 3;
    const b = Buffer.alloc(1 + sig + 4);
    b[0] = c.prefixLen;
    const net = u(c.networkInt, 4);
    net.copy(b, 1, 0, sig);
    ipBytes(r.router).copy(b, 1 + sig);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** The data bytes (without code and length) of one option. */
export function encodeDhcpOptionData(opt: DhcpOption): Buffer {
  switch (opt.type) {
    case 'subnet-mask':
    case 'broadcast-address':
    case 'requested-ip':
    case 'server-id':
      return ipBytes(opt.value);
    case 'router':
    case 'dns-servers':
      return Buffer.concat(opt.addresses.map(ipBytes));
    case 'hostname':
    case 'domain-name':
      return Buffer.from(opt.value, 'latin1');
    case 'mtu':
    case 'max-message-size':
      return u(opt.value, 2);
    case 'lease-time':
    case 'renewal-time':
    case 'rebinding-time':
      return u(opt.value, 4);
    case 'message-type':
      return u(opt.value, 1);
    case 'static-routes':
      return Buffer.concat(opt.routes.flatMap((r) => [ipBytes(r.destination), ipBytes(r.router)]));
    case 'parameter-request-list':
      return Buffer.from(opt.codes.map((c) => c & 0xff));
    case 'client-id':
    case 'raw':
      return opt.data;
    case 'domain-search':
      return encodeDomainNames(opt.domains);
    case 'classless-routes':
      return encodeClasslessRoutes(opt.routes);
  }
}

function fixed(buf: Buffer | undefined, size: number, name: string): Buffer {
  if (!buf) return Buffer.alloc(size);
  if (buf.length > size) bad(`${name} longer than ${size} bytes`);
  return buf;
}

/** Encodes a DHCP message (UDP payload), ending options with END. */
export function encodeDhcp(m: DhcpMessage): Result<Buffer> {
  return guardEncode(() => {
    const opts: Buffer[] = [];
    let optLen = 0;
    for (const opt of m.options) {
      const code = optionCode(opt);
      if (code === 0 || code === 255) bad(`option code ${code} cannot carry data`);
      const data = encodeDhcpOptionData(opt);
      // RFC 3396: longer than 255 bytes → consecutive instances of the same code.
      let i = 0;
      do {
        const chunk = data.subarray(i, i + 255);
        opts.push(Buffer.from([code, chunk.length]), chunk);
        optLen += 2 + chunk.length;
        i += 255;
      } while (i < data.length);
    }
    const base = DHCP_MIN_LEN + optLen + 1;
    const trailerLen = m.trailer ? m.trailer.length : Math.max(0, BOOTP_MIN_LEN - base);
    const buf = Buffer.alloc(base + trailerLen);
    buf[0] = m.op & 0xff;
    buf[1] = m.htype & 0xff;
    buf[2] = m.hlen & 0xff;
    buf[3] = m.hops & 0xff;
    buf.writeUInt32BE(m.xid >>> 0, 4);
    buf.writeUInt16BE(m.secs & 0xffff, 8);
    buf.writeUInt16BE(m.flags & 0xffff, 10);
    ipBytes(m.ciaddr).copy(buf, 12);
    ipBytes(m.yiaddr).copy(buf, 16);
    ipBytes(m.siaddr).copy(buf, 20);
    ipBytes(m.giaddr).copy(buf, 24);
    fixed(m.chaddr, 16, 'chaddr').copy(buf, 28);
    fixed(m.sname, 64, 'sname').copy(buf, 44);
    fixed(m.file, 128, 'file').copy(buf, 108);
    buf.writeUInt32BE(DHCP_MAGIC_COOKIE, 236);
    let o = DHCP_MIN_LEN;
    for (const b of opts) o += b.copy(buf, o);
    buf[o++] = 255;
    if (m.trailer) m.trailer.copy(buf, o);
    return buf;
  });
}

// ------------------------------------------------------------------ accessors

/** First option of the given type, typed. */
export function getDhcpOption<T extends DhcpOptionType>(
  m: DhcpMessage,
  type: T,
): Extract<DhcpOption, { type: T }> | undefined {
  return m.options.find((o): o is Extract<DhcpOption, { type: T }> => o.type === type);
}

/** Value of option 53, or undefined (plain BOOTP). */
export function dhcpMessageType(m: DhcpMessage): number | undefined {
  return getDhcpOption(m, 'message-type')?.value;
}

/** chaddr as a MAC when htype is Ethernet (1) and hlen 6; otherwise null. */
export function dhcpClientMac(m: DhcpMessage): string | null {
  return m.htype === 1 && m.hlen === 6 && m.chaddr.length >= 6 ? bytesToMac(m.chaddr, 0) : null;
}
