/** Why a CRI call failed, in terms an operator can act on. */
export type CriErrorKind =
  | 'socket-missing'
  | 'permission-denied'
  | 'unavailable'
  | 'unimplemented'
  | 'deadline'
  | 'not-found'
  | 'failed';

const HINTS: Record<CriErrorKind, string> = {
  'socket-missing': 'no CRI socket at this path; pass --cri-endpoint',
  'permission-denied': 'permission denied on the CRI socket; run as root or grant access to it',
  unavailable: 'the container runtime is not answering on this socket',
  unimplemented: 'the container runtime does not implement this CRI call',
  deadline: 'the container runtime did not answer before the deadline',
  'not-found': 'the runtime no longer knows this object',
  failed: 'the CRI call failed',
};

/** A failed CRI call: `kind` is stable, `message` names the endpoint, method and the hint. */
export class CriError extends Error {
  override readonly name = 'CriError';
  readonly kind: CriErrorKind;
  readonly method: string;
  readonly endpoint: string;

  constructor(what: {
    kind: CriErrorKind;
    method: string;
    endpoint: string;
    detail: string;
    cause?: unknown;
  }) {
    super(
      `CRI ${what.method} on ${what.endpoint}: ${HINTS[what.kind]} (${plainDetail(what.detail)})`,
      {
        cause: what.cause,
      },
    );
    this.kind = what.kind;
    this.method = what.method;
    this.endpoint = what.endpoint;
  }
}

/**
 * grpc-js's details as an operator reads them: without the per-phase timings of a deadline, the
 * timestamps and empty notes of a failed connection, or an error's class name inside the text.
 */
export function plainDetail(details: string): string {
  return details
    .replace(/,name resolution:.*$/s, '')
    .replace(/\s*Resolution note:.*$/s, '')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)/g, '')
    .replace(/\b[A-Za-z]*Error: /g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** gRPC status codes (numbers from @grpc/grpc-js `status`), mapped to our kinds. */
export function kindFromGrpc(code: number | undefined, details: string): CriErrorKind {
  switch (code) {
    case 4:
      return 'deadline';
    case 5:
      return 'not-found';
    case 7:
      return 'permission-denied';
    case 12:
      return 'unimplemented';
    case 14:
      if (/ENOENT/.test(details)) return 'socket-missing';
      if (/EACCES|EPERM/.test(details)) return 'permission-denied';
      return 'unavailable';
    default:
      return 'failed';
  }
}
