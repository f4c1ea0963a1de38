/**
 * failsoft's errors: one class per kind of the core's error, the same six in every language,
 * mapped once from the core's `ErrorKind::code()`.
 * @packageDocumentation
 */
import type { ErrorInfo } from './native';

/** The code of each kind of error (the core's kinds in SCREAMING_CASE). */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'TIMEOUT'
  | 'UNAVAILABLE'
  | 'INVALID_RESPONSE'
  | 'INVALID_ARGUMENT';

/** What an error concerns, besides its message. */
export interface ErrorDetails {
  /** The key the error concerns (empty when not about a key). */
  key?: string;
  /** The HTTP status behind the error, when there was one. */
  status?: number | null;
}

/**
 * Base class of every failsoft error. `code` names the kind, `key` the key it concerns,
 * `status` the HTTP status behind it; `message` is `"<key>: <text>"` when there is a key.
 * Messages never contain a secret.
 */
export class FailsoftError extends Error {
  readonly code: ErrorCode;
  readonly key: string;
  readonly status: number | null;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    const key = details.key ?? '';
    super(key ? `${key}: ${message}` : message);
    this.code = code;
    this.key = key;
    this.status = details.status ?? null;
  }
}

/** The key does not exist at the source (HTTP 404; a missing prompt, label, env or version). */
export class NotFoundError extends FailsoftError {
  constructor(message: string, details?: ErrorDetails) {
    super('NOT_FOUND', message, details);
  }
}

/** The source refused the credentials (HTTP 401/403). */
export class UnauthorizedError extends FailsoftError {
  constructor(message: string, details?: ErrorDetails) {
    super('UNAUTHORIZED', message, details);
  }
}

/** The deadline passed before an answer arrived. */
export class TimeoutError extends FailsoftError {
  constructor(message: string, details?: ErrorDetails) {
    super('TIMEOUT', message, details);
  }
}

/** Connection refused or reset, DNS failure, HTTP 429 or 5xx. */
export class UnavailableError extends FailsoftError {
  constructor(message: string, details?: ErrorDetails) {
    super('UNAVAILABLE', message, details);
  }
}

/** The answer could not be parsed, had the wrong shape, or was over the size cap. */
export class InvalidResponseError extends FailsoftError {
  constructor(message: string, details?: ErrorDetails) {
    super('INVALID_RESPONSE', message, details);
  }
}

/** The caller passed something that cannot work (bad option, bad key, strict template miss). */
export class InvalidArgumentError extends FailsoftError {
  constructor(message: string, details?: ErrorDetails) {
    super('INVALID_ARGUMENT', message, details);
  }
}

/**
 * `prefetch` could not fetch every key. `failures` maps each failed key to its error, `succeeded`
 * lists the keys now cached; `code` is the first failure's.
 */
export class PrefetchError extends FailsoftError {
  readonly failures: Readonly<Record<string, FailsoftError>>;
  readonly succeeded: readonly string[];

  constructor(message: string, failures: Record<string, FailsoftError>, succeeded: string[]) {
    const first = Object.values(failures)[0];
    super(first ? first.code : 'UNAVAILABLE', message);
    this.failures = Object.freeze({ ...failures });
    this.succeeded = Object.freeze([...succeeded]);
  }
}

// `err.name` is the class name, as for built-in errors (shown by `util.inspect` and stack traces).
for (const cls of [
  FailsoftError,
  NotFoundError,
  UnauthorizedError,
  TimeoutError,
  UnavailableError,
  InvalidResponseError,
  InvalidArgumentError,
  PrefetchError,
]) {
  Object.defineProperty(cls.prototype, 'name', { value: cls.name, writable: true, configurable: true });
}

type ErrorClass = new (message: string, details?: ErrorDetails) => FailsoftError;

const CLASSES: Readonly<Record<ErrorCode, ErrorClass>> = {
  NOT_FOUND: NotFoundError,
  UNAUTHORIZED: UnauthorizedError,
  TIMEOUT: TimeoutError,
  UNAVAILABLE: UnavailableError,
  INVALID_RESPONSE: InvalidResponseError,
  INVALID_ARGUMENT: InvalidArgumentError,
};

/** @internal The error a core error info stands for. */
export function errorFromInfo(info: ErrorInfo): FailsoftError {
  const cls = CLASSES[info.code as ErrorCode] ?? UnavailableError;
  return new cls(info.message, { key: info.key, status: info.status ?? null });
}

/**
 * @internal A native exception as the matching `FailsoftError` (napi errors carry the core
 * kind's code); a JS type error from the addon (a wrong argument type) becomes
 * `InvalidArgumentError`.
 */
export function toFailsoftError(e: unknown, key = ''): unknown {
  if (e instanceof FailsoftError || !(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  const cls = typeof code === 'string' ? CLASSES[code as ErrorCode] : undefined;
  if (cls) return new cls(e.message, { key });
  if (code === 'InvalidArg' || code === 'ObjectExpected' || code === 'StringExpected' || code === 'NumberExpected') {
    return new InvalidArgumentError(e.message, { key });
  }
  return e;
}
