"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.PrefetchError = exports.InvalidArgumentError = exports.InvalidResponseError = exports.UnavailableError = exports.TimeoutError = exports.UnauthorizedError = exports.NotFoundError = exports.FailsoftError = void 0;
exports.errorFromInfo = errorFromInfo;
exports.toFailsoftError = toFailsoftError;
/**
 * Base class of every failsoft error. `code` names the kind, `key` the key it concerns,
 * `status` the HTTP status behind it; `message` is `"<key>: <text>"` when there is a key.
 * Messages never contain a secret.
 */
class FailsoftError extends Error {
    code;
    key;
    status;
    constructor(code, message, details = {}) {
        const key = details.key ?? '';
        super(key ? `${key}: ${message}` : message);
        this.code = code;
        this.key = key;
        this.status = details.status ?? null;
    }
}
exports.FailsoftError = FailsoftError;
/** The key does not exist at the source (HTTP 404; a missing prompt, label, env or version). */
class NotFoundError extends FailsoftError {
    constructor(message, details) {
        super('NOT_FOUND', message, details);
    }
}
exports.NotFoundError = NotFoundError;
/** The source refused the credentials (HTTP 401/403). */
class UnauthorizedError extends FailsoftError {
    constructor(message, details) {
        super('UNAUTHORIZED', message, details);
    }
}
exports.UnauthorizedError = UnauthorizedError;
/** The deadline passed before an answer arrived. */
class TimeoutError extends FailsoftError {
    constructor(message, details) {
        super('TIMEOUT', message, details);
    }
}
exports.TimeoutError = TimeoutError;
/** Connection refused or reset, DNS failure, HTTP 429 or 5xx. */
class UnavailableError extends FailsoftError {
    constructor(message, details) {
        super('UNAVAILABLE', message, details);
    }
}
exports.UnavailableError = UnavailableError;
/** The answer could not be parsed, had the wrong shape, or was over the size cap. */
class InvalidResponseError extends FailsoftError {
    constructor(message, details) {
        super('INVALID_RESPONSE', message, details);
    }
}
exports.InvalidResponseError = InvalidResponseError;
/** The caller passed something that cannot work (bad option, bad key, strict template miss). */
class InvalidArgumentError extends FailsoftError {
    constructor(message, details) {
        super('INVALID_ARGUMENT', message, details);
    }
}
exports.InvalidArgumentError = InvalidArgumentError;
/**
 * `prefetch` could not fetch every key. `failures` maps each failed key to its error, `succeeded`
 * lists the keys now cached; `code` is the first failure's.
 */
class PrefetchError extends FailsoftError {
    failures;
    succeeded;
    constructor(message, failures, succeeded) {
        const first = Object.values(failures)[0];
        super(first ? first.code : 'UNAVAILABLE', message);
        this.failures = Object.freeze({ ...failures });
        this.succeeded = Object.freeze([...succeeded]);
    }
}
exports.PrefetchError = PrefetchError;
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
const CLASSES = {
    NOT_FOUND: NotFoundError,
    UNAUTHORIZED: UnauthorizedError,
    TIMEOUT: TimeoutError,
    UNAVAILABLE: UnavailableError,
    INVALID_RESPONSE: InvalidResponseError,
    INVALID_ARGUMENT: InvalidArgumentError,
};
/** @internal The error a core error info stands for. */
function errorFromInfo(info) {
    const cls = CLASSES[info.code] ?? UnavailableError;
    return new cls(info.message, { key: info.key, status: info.status ?? null });
}
/**
 * @internal A native exception as the matching `FailsoftError` (napi errors carry the core
 * kind's code); a JS type error from the addon (a wrong argument type) becomes
 * `InvalidArgumentError`.
 */
function toFailsoftError(e, key = '') {
    if (e instanceof FailsoftError || !(e instanceof Error))
        return e;
    const code = e.code;
    const cls = typeof code === 'string' ? CLASSES[code] : undefined;
    if (cls)
        return new cls(e.message, { key });
    if (code === 'InvalidArg' || code === 'ObjectExpected' || code === 'StringExpected' || code === 'NumberExpected') {
        return new InvalidArgumentError(e.message, { key });
    }
    return e;
}
