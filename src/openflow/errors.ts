// Typed codec errors and OpenFlow 1.3 error type/code names.

export type OfDecodeErrorCode =
  | 'bad_version'
  | 'bad_length'
  | 'truncated'
  | 'bad_match'
  | 'bad_action'
  | 'bad_instruction'
  | 'bad_value';

/** Returned (never thrown) by decodeMessage. `length` is the frame length so callers can skip it. */
export class OfDecodeError extends Error {
  constructor(
    readonly code: OfDecodeErrorCode,
    message: string,
    public length = 0,
  ) {
    super(message);
    this.name = 'OfDecodeError';
  }
}

export type OfEncodeErrorCode =
  | 'missing_prerequisite'
  | 'not_maskable'
  | 'bad_value'
  | 'bad_field'
  | 'too_long'
  | 'unsupported';

/** Thrown by encode functions when the model value cannot be expressed on the wire. */
export class OfEncodeError extends Error {
  constructor(
    readonly code: OfEncodeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'OfEncodeError';
  }
}

/** OFPET_* names by number (OpenFlow 1.3). */
export const ERROR_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'HELLO_FAILED',
  1: 'BAD_REQUEST',
  2: 'BAD_ACTION',
  3: 'BAD_INSTRUCTION',
  4: 'BAD_MATCH',
  5: 'FLOW_MOD_FAILED',
  6: 'GROUP_MOD_FAILED',
  7: 'PORT_MOD_FAILED',
  8: 'TABLE_MOD_FAILED',
  9: 'QUEUE_OP_FAILED',
  10: 'SWITCH_CONFIG_FAILED',
  11: 'ROLE_REQUEST_FAILED',
  12: 'METER_MOD_FAILED',
  13: 'TABLE_FEATURES_FAILED',
  0xffff: 'EXPERIMENTER',
};

/** Code names per OFPET_* (OpenFlow 1.3 §A.4.4). */
export const ERROR_CODE_NAMES: Readonly<Record<number, readonly string[]>> = {
  0: ['INCOMPATIBLE', 'EPERM'],
  1: [
    'BAD_VERSION', 'BAD_TYPE', 'BAD_MULTIPART', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'EPERM', 'BAD_LEN',
    'BUFFER_EMPTY', 'BUFFER_UNKNOWN', 'BAD_TABLE_ID', 'IS_SLAVE', 'BAD_PORT', 'BAD_PACKET',
    'MULTIPART_BUFFER_OVERFLOW',
  ],
  2: [
    'BAD_TYPE', 'BAD_LEN', 'BAD_EXPERIMENTER', 'BAD_EXP_TYPE', 'BAD_OUT_PORT', 'BAD_ARGUMENT', 'EPERM',
    'TOO_MANY', 'BAD_QUEUE', 'BAD_OUT_GROUP', 'MATCH_INCONSISTENT', 'UNSUPPORTED_ORDER', 'BAD_TAG',
    'BAD_SET_TYPE', 'BAD_SET_LEN', 'BAD_SET_ARGUMENT',
  ],
  3: [
    'UNKNOWN_INST', 'UNSUP_INST', 'BAD_TABLE_ID', 'UNSUP_METADATA', 'UNSUP_METADATA_MASK', 'BAD_EXPERIMENTER',
    'BAD_EXP_TYPE', 'BAD_LEN', 'EPERM',
  ],
  4: [
    'BAD_TYPE', 'BAD_LEN', 'BAD_TAG', 'BAD_DL_ADDR_MASK', 'BAD_NW_ADDR_MASK', 'BAD_WILDCARDS', 'BAD_FIELD',
    'BAD_VALUE', 'BAD_MASK', 'BAD_PREREQ', 'DUP_FIELD', 'EPERM',
  ],
  5: ['UNKNOWN', 'TABLE_FULL', 'BAD_TABLE_ID', 'OVERLAP', 'EPERM', 'BAD_TIMEOUT', 'BAD_COMMAND', 'BAD_FLAGS'],
  6: [
    'GROUP_EXISTS', 'INVALID_GROUP', 'WEIGHT_UNSUPPORTED', 'OUT_OF_GROUPS', 'OUT_OF_BUCKETS', 'CHAINING_UNSUPPORTED',
    'WATCH_UNSUPPORTED', 'LOOP', 'UNKNOWN_GROUP', 'CHAINED_GROUP', 'BAD_TYPE', 'BAD_COMMAND', 'BAD_BUCKET',
    'BAD_WATCH', 'EPERM',
  ],
  7: ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM'],
  8: ['BAD_TABLE', 'BAD_CONFIG', 'EPERM'],
  9: ['BAD_PORT', 'BAD_QUEUE', 'EPERM'],
  10: ['BAD_FLAGS', 'BAD_LEN', 'EPERM'],
  11: ['STALE', 'UNSUP', 'BAD_ROLE'],
  12: [
    'UNKNOWN', 'METER_EXISTS', 'INVALID_METER', 'UNKNOWN_METER', 'BAD_COMMAND', 'BAD_FLAGS', 'BAD_RATE',
    'BAD_BURST', 'BAD_BAND', 'BAD_BAND_VALUE', 'OUT_OF_METERS', 'OUT_OF_BANDS',
  ],
  13: ['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM'],
};

export function errorTypeName(type: number): string | undefined {
  return ERROR_TYPE_NAMES[type];
}

export function errorCodeName(type: number, code: number): string | undefined {
  return ERROR_CODE_NAMES[type]?.[code];
}
