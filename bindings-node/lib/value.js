"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.Value = void 0;
exports.now = now;
exports.deepFreeze = deepFreeze;
/** @internal Seconds on a monotonic clock. */
function now() {
    return performance.now() / 1000;
}
/**
 * @internal Freezes `v` and everything in it: values from the cache are shared by every read
 * that returns them, so none may change them.
 */
function deepFreeze(v) {
    if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
        Object.freeze(v);
        for (const item of Object.values(v))
            deepFreeze(item);
    }
    return v;
}
/**
 * The result of `Client.get` / `Client.getSync`. The value is read-only when it comes from the
 * cache (fresh, stale or snapshot); a fallback is the caller's own object.
 */
class Value {
    /** The data. */
    value;
    /** `fresh`, `stale`, `snapshot` or `fallback`. */
    source;
    /** True when the caller's fallback was served. */
    isFallback;
    /** The source's version of the data, when it has one. */
    version;
    /** Why the value is not fresh from the backend, when a fetch failed. */
    error;
    #fetchedAt;
    /** @internal */
    constructor(value, source, version, fetchedAt, error) {
        this.value = value;
        this.source = source;
        this.isFallback = source === 'fallback';
        this.version = version;
        this.error = error;
        this.#fetchedAt = fetchedAt;
    }
    /** Seconds since the data was fetched; `null` for a fallback. */
    get ageSeconds() {
        return Number.isNaN(this.#fetchedAt) ? null : Math.max(0, now() - this.#fetchedAt);
    }
    toJSON() {
        return {
            value: this.value,
            source: this.source,
            isFallback: this.isFallback,
            version: this.version,
            ageSeconds: this.ageSeconds,
            error: this.error && { code: this.error.code, key: this.error.key, message: this.error.message },
        };
    }
}
exports.Value = Value;
