/**
 * Typed results for packet codecs. Decoders never throw on malformed input: they return
 * `{ ok: false, error }` with a {@link PacketError} whose `code` says what was wrong.
 */

export type PacketErrorCode =
  | 'truncated' // fewer bytes than the header or a declared length needs
  | 'bad-length' // a length field is inconsistent (too small, or larger than its container)
  | 'bad-version' // IP version field does not match
  | 'bad-header' // a fixed field has an impossible value (e.g. ARP hardware type, DHCP magic)
  | 'bad-option' // a TLV option is malformed
  | 'bad-address' // an address string given to an encoder/helper does not parse
  | 'unsupported'; // well-formed but outside what this codec handles

export class PacketError extends Error {
  override readonly name = 'PacketError';
  constructor(
    readonly code: PacketErrorCode,
    /** Protocol layer that failed, e.g. 'ipv4', 'udp', 'dhcp'. */
    readonly layer: string,
    message: string,
    /** Byte offset (within that layer's buffer) where the problem was found, if known. */
    readonly offset?: number,
  ) {
    super(`${layer}: ${message}`);
  }
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: PacketError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: PacketErrorCode, layer: string, message: string, offset?: number): Result<T> {
  return { ok: false, error: new PacketError(code, layer, message, offset) };
}

/** Options shared by decoders. */
export interface DecodeOptions {
  /** Verify L4 (UDP/TCP/ICMP) checksums; default true. IPv4 header checksums are always checked. */
  readonly verifyChecksums?: boolean;
  /**
   * Decode the L4 header (UDP/TCP/ICMP/ICMPv6) inside IP; default true. With false the IP
   * payload is left `raw` (cheapest path when only L2/L3 headers matter, e.g. reactive L3).
   */
  readonly decodeL4?: boolean;
}

/** A payload this codec does not decode (unknown protocol, fragment, extension headers...). */
export interface RawPayload {
  readonly type: 'raw';
  /** View into the decoded buffer. */
  readonly data: Buffer;
}
