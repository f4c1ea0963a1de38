/**
 * failsoft's errors: one class per kind of the core's error, the same six in every language,
 * mapped once from the core's `ErrorKind::code()`.
 * @packageDocumentation
 */
import type { ErrorInfo } from './native';
/** The code of each kind of error (the core's kinds in SCREAMING_CASE). */
export type ErrorCode = 'NOT_FOUND' | 'UNAUTHORIZED' | 'TIMEOUT' | 'UNAVAILABLE' | 'INVALID_RESPONSE' | 'INVALID_ARGUMENT';
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
export declare class FailsoftError extends Error {
    readonly code: ErrorCode;
    readonly key: string;
    readonly status: number | null;
    constructor(code: ErrorCode, message: string, details?: ErrorDetails);
}
/** The key does not exist at the source (HTTP 404; a missing prompt, label, env or version). */
export declare class NotFoundError extends FailsoftError {
    constructor(message: string, details?: ErrorDetails);
}
/** The source refused the credentials (HTTP 401/403). */
export declare class UnauthorizedError extends FailsoftError {
    constructor(message: string, details?: ErrorDetails);
}
/** The deadline passed before an answer arrived. */
export declare class TimeoutError extends FailsoftError {
    constructor(message: string, details?: ErrorDetails);
}
/** Connection refused or reset, DNS failure, HTTP 429 or 5xx. */
export declare class UnavailableError extends FailsoftError {
    constructor(message: string, details?: ErrorDetails);
}
/** The answer could not be parsed, had the wrong shape, or was over the size cap. */
export declare class InvalidResponseError extends FailsoftError {
    constructor(message: string, details?: ErrorDetails);
}
/** The caller passed something that cannot work (bad option, bad key, strict template miss). */
export declare class InvalidArgumentError extends FailsoftError {
    constructor(message: string, details?: ErrorDetails);
}
/**
 * `prefetch` could not fetch every key. `failures` maps each failed key to its error, `succeeded`
 * lists the keys now cached; `code` is the first failure's.
 */
export declare class PrefetchError extends FailsoftError {
    readonly failures: Readonly<Record<string, FailsoftError>>;
    readonly succeeded: readonly string[];
    constructor(message: string, failures: Record<string, FailsoftError>, succeeded: string[]);
}
/** @internal The error a core error info stands for. */
export declare function errorFromInfo(info: ErrorInfo): FailsoftError;
/**
 * @internal A native exception as the matching `FailsoftError` (napi errors carry the core
 * kind's code); a JS type error from the addon (a wrong argument type) becomes
 * `InvalidArgumentError`.
 */
export declare function toFailsoftError(e: unknown, key?: string): unknown;
