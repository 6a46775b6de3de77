/** Why an API call failed, and whether trying again later can help. */
export type ApiErrorKind =
  | 'unreachable'
  | 'unauthorized'
  | 'forbidden'
  | 'denied'
  | 'not-found'
  | 'crd-missing'
  | 'conflict'
  | 'invalid'
  | 'throttled'
  | 'server'
  | 'timeout'
  /** A 2xx answer that is not what the API server sends (not JSON, a list without items). */
  | 'malformed';

const RETRYABLE = new Set<ApiErrorKind>([
  'unreachable',
  'throttled',
  'server',
  'timeout',
  'conflict',
  // A proxy's error page in front of the API server passes.
  'malformed',
]);

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly kind: ApiErrorKind;
  readonly status: number | null;

  constructor(what: {
    kind: ApiErrorKind;
    status: number | null;
    detail: string;
    cause?: unknown;
  }) {
    super(
      `Kubernetes API: ${what.kind}${what.status !== null ? ` (HTTP ${what.status})` : ''}: ${what.detail}`,
      {
        cause: what.cause,
      },
    );
    this.kind = what.kind;
    this.status = what.status;
  }

  /** 429, 5xx, timeouts and connection errors: the write stays pending and is retried. */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

function kindOfStatus(status: number, body: string): ApiErrorKind {
  if (status === 401) return 'unauthorized';
  // RBAC says 403 forbidden; an admission policy (the chart's, binding each agent to its node)
  // or webhook that refuses the request says 403 too, naming itself in the message.
  if (status === 403)
    return /ValidatingAdmissionPolicy|admission webhook/.test(body) ? 'denied' : 'forbidden';
  if (status === 404)
    return /the server could not find the requested resource|404 page not found/i.test(body)
      ? 'crd-missing'
      : 'not-found';
  if (status === 409) return 'conflict';
  if (status === 422 || status === 400) return 'invalid';
  if (status === 429) return 'throttled';
  if (status === 504) return 'timeout';
  return status >= 500 ? 'server' : 'invalid';
}

interface HttpishError {
  code?: unknown;
  body?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** The ApiError of an HTTP status and the API server's Status body. */
export function fromStatus(status: number, rawBody: unknown, cause: unknown): ApiError {
  const body = typeof rawBody === 'string' ? rawBody : JSON.stringify(rawBody ?? '');
  const detail = statusMessage(body) ?? body.slice(0, 300);
  return new ApiError({ kind: kindOfStatus(status, body), status, detail, cause });
}

/** The message of a metav1.Status body (quotes and all), or null when the body is not one. */
function statusMessage(body: string): string | null {
  try {
    const status: unknown = JSON.parse(body);
    const message =
      typeof status === 'object' && status !== null
        ? (status as { message?: unknown }).message
        : undefined;
    return typeof message === 'string' ? message : null;
  } catch {
    return null;
  }
}

/** A 2xx answer that is not what an API server sends. */
export function malformed(detail: string, cause?: unknown): ApiError {
  return new ApiError({ kind: 'malformed', status: null, detail, cause });
}

/** Maps a thrown error (HTTP status errors, connection and abort errors) to an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = (err ?? {}) as HttpishError;
  if (typeof e.code === 'number' && e.code >= 100 && e.code < 600)
    return fromStatus(e.code, e.body, err);
  const message = typeof e.message === 'string' ? e.message : String(err);
  const timedOut =
    e.name === 'AbortError' || e.name === 'TimeoutError' || /aborted|timeout/i.test(message);
  return new ApiError({
    kind: timedOut ? 'timeout' : 'unreachable',
    status: null,
    detail: message,
    cause: err,
  });
}
