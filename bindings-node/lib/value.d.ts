/**
 * What a read returns: the data plus where it came from (SPEC §1).
 * @packageDocumentation
 */
import type { FailsoftError } from './errors';
/** Where a read's value came from. */
export type ValueSource = 'fresh' | 'stale' | 'snapshot' | 'fallback';
/** @internal Seconds on a monotonic clock. */
export declare function now(): number;
/**
 * @internal Freezes `v` and everything in it: values from the cache are shared by every read
 * that returns them, so none may change them.
 */
export declare function deepFreeze<T>(v: T): T;
/**
 * The result of `Client.get` / `Client.getSync`. The value is read-only when it comes from the
 * cache (fresh, stale or snapshot); a fallback is the caller's own object.
 */
export declare class Value<T = unknown> {
    #private;
    /** The data. */
    readonly value: T;
    /** `fresh`, `stale`, `snapshot` or `fallback`. */
    readonly source: ValueSource;
    /** True when the caller's fallback was served. */
    readonly isFallback: boolean;
    /** The source's version of the data, when it has one. */
    readonly version: number | null;
    /** Why the value is not fresh from the backend, when a fetch failed. */
    readonly error: FailsoftError | null;
    /** @internal */
    constructor(value: T, source: ValueSource, version: number | null, fetchedAt: number, error: FailsoftError | null);
    /** Seconds since the data was fetched; `null` for a fallback. */
    get ageSeconds(): number | null;
    toJSON(): object;
}
