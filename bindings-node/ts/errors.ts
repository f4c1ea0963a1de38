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

/** `err.name` is the class name, as for built-in errors (shown by `util.inspect` and stack traces). */
function named<T extends abstract new (...args: never[]) => unknown>(cls: T, name: string): T {
  Object.defineProperty(cls, 'name', { value: name, configurable: true });
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
  return cls;
}

/** The class of one kind: a `FailsoftError` whose `code` is always `code`. */
function kindClass<C extends ErrorCode>(code: C, name: string) {
  const cls = class extends FailsoftError {
    declare readonly code: C;
    constructor(message: string, details?: ErrorDetails) {
      super(code, message, details);
    }
  };
  return named(cls, name);
}

// One class per core kind, named by the spelling rule of the core's `failsoft::error` docs (the
// kind's name + `Error`).

/** The key does not exist at the source (HTTP 404; a missing prompt, label, env or version). */
export const NotFoundError = kindClass('NOT_FOUND', 'NotFoundError');
export type NotFoundError = InstanceType<typeof NotFoundError>;
/** The source refused the credentials (HTTP 401/403). */
export const UnauthorizedError = kindClass('UNAUTHORIZED', 'UnauthorizedError');
export type UnauthorizedError = InstanceType<typeof UnauthorizedError>;
/** The deadline passed before an answer arrived. */
export const TimeoutError = kindClass('TIMEOUT', 'TimeoutError');
export type TimeoutError = InstanceType<typeof TimeoutError>;
/** Connection refused or reset, DNS failure, HTTP 429 or 5xx. */
export const UnavailableError = kindClass('UNAVAILABLE', 'UnavailableError');
export type UnavailableError = InstanceType<typeof UnavailableError>;
/** The answer could not be parsed, had the wrong shape, or was over the size cap. */
export const InvalidResponseError = kindClass('INVALID_RESPONSE', 'InvalidResponseError');
export type InvalidResponseError = InstanceType<typeof InvalidResponseError>;
/** The caller passed something that cannot work (bad option, bad key, strict template miss). */
export const InvalidArgumentError = kindClass('INVALID_ARGUMENT', 'InvalidArgumentError');
export type InvalidArgumentError = InstanceType<typeof InvalidArgumentError>;

/** The class of each code. */
const CLASSES: Record<ErrorCode, new (message: string, details?: ErrorDetails) => FailsoftError> = {
  NOT_FOUND: NotFoundError,
  UNAUTHORIZED: UnauthorizedError,
  TIMEOUT: TimeoutError,
  UNAVAILABLE: UnavailableError,
  INVALID_RESPONSE: InvalidResponseError,
  INVALID_ARGUMENT: InvalidArgumentError,
};

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

named(FailsoftError, 'FailsoftError');
named(PrefetchError, 'PrefetchError');

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
  return ARGUMENT_STATUSES.has(code as string) ? new InvalidArgumentError(e.message, { key }) : e;
}

/** The napi statuses of an argument of the wrong type, as the addon's signatures can raise them. */
const ARGUMENT_STATUSES: ReadonlySet<string> = new Set(['InvalidArg', 'ObjectExpected', 'StringExpected', 'NumberExpected']);

/** @internal Runs a native call, rethrowing its errors as `FailsoftError`s about `key`. */
export function call<T>(key: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw toFailsoftError(e, key);
  }
}
