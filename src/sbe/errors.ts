/** Typed failures of the SBE codec. Decoding never throws anything else, however malformed the bytes. */

export type SbeDecodeErrorCode =
  | 'TRUNCATED'
  | 'UNKNOWN_TEMPLATE'
  | 'SCHEMA_MISMATCH'
  | 'BAD_BLOCK_LENGTH'
  | 'GROUP_TOO_LARGE'
  | 'BAD_SYMBOL'
  | 'BAD_STRING'
  | 'BAD_ENUM'
  | 'VALUE_OUT_OF_RANGE'
  | 'TRAILING_BYTES';

export class SbeDecodeError extends Error {
  override readonly name = 'SbeDecodeError';

  constructor(
    readonly code: SbeDecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class SbeEncodeError extends Error {
  override readonly name = 'SbeEncodeError';
}
