/** Typed errors of the OVSDB client. Every error the client surfaces is one of these classes. */

export class OvsdbError extends Error {
  /** True when retrying later (after a reconnect) may succeed. */
  readonly recoverable: boolean;
  constructor(message: string, recoverable = false) {
    super(message);
    this.name = new.target.name;
    this.recoverable = recoverable;
  }
}

/** The byte stream is not a sequence of JSON objects (garbage, bad JSON, bad UTF-8). */
export class OvsdbFramingError extends OvsdbError {
  constructor(message: string) {
    super(message, true);
  }
}

/** A single JSON frame grew beyond the configured bound. */
export class OvsdbFrameTooLargeError extends OvsdbFramingError {
  readonly limit: number;
  constructor(limit: number) {
    super(`OVSDB frame exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

/** A well-formed JSON value that is not a valid JSON-RPC 1.0 message (or reply to nothing). */
export class OvsdbProtocolError extends OvsdbError {
  constructor(message: string) {
    super(message, true);
  }
}

/** The connection went away while a request was outstanding, or the client is closed. */
export class OvsdbConnectionError extends OvsdbError {
  constructor(message: string, recoverable = true) {
    super(message, recoverable);
  }
}

/** A JSON-RPC reply whose `error` member is not null (e.g. "unknown database", "unknown method"). */
export class OvsdbRpcError extends OvsdbError {
  readonly method: string;
  readonly error: unknown;
  constructor(method: string, error: unknown) {
    super(`${method}: ${typeof error === 'string' ? error : JSON.stringify(error)}`);
    this.method = method;
    this.error = error;
  }
}

/**
 * A transaction that the server rejected. `opIndex` is the index of the failing operation in the
 * request (or `operations.length` for a commit-time error such as a constraint violation, which
 * RFC 7047 reports as an extra result after the per-operation ones).
 */
export class OvsdbTransactError extends OvsdbError {
  readonly opIndex: number;
  /** The failing operation, or undefined for a commit-time error. */
  readonly op: unknown;
  /** RFC 7047 error string: "constraint violation", "referential integrity violation", "timed out", ... */
  readonly error: string;
  readonly details: string | undefined;
  constructor(opIndex: number, op: unknown, error: string, details: string | undefined) {
    const where = op === undefined ? 'commit' : `op ${opIndex} (${(op as { op?: string }).op ?? '?'})`;
    super(`transaction failed at ${where}: ${error}${details ? `: ${details}` : ''}`);
    this.opIndex = opIndex;
    this.op = op;
    this.error = error;
    this.details = details;
  }
}

/** A datum in a reply or update that does not match its column type. */
export class OvsdbDatumError extends OvsdbError {}
