/**
 * What a read returns: the data plus where it came from (SPEC §1).
 * @packageDocumentation
 */
import type { FailsoftError } from './errors';

/** Where a read's value came from. */
export type ValueSource = 'fresh' | 'stale' | 'snapshot' | 'fallback';

/** @internal Seconds on a monotonic clock. */
export function now(): number {
  return performance.now() / 1000;
}

/**
 * @internal Freezes `v` and everything in it: values from the cache are shared by every read
 * that returns them, so none may change them.
 */
export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const item of Object.values(v)) deepFreeze(item);
  }
  return v;
}

/**
 * The result of `Client.get` / `Client.getSync`. The value is read-only when it comes from the
 * cache (fresh, stale or snapshot); a fallback is the caller's own object.
 */
export class Value<T = unknown> {
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
  #fetchedAt: number;

  /** @internal */
  constructor(value: T, source: ValueSource, version: number | null, fetchedAt: number, error: FailsoftError | null) {
    this.value = value;
    this.source = source;
    this.isFallback = source === 'fallback';
    this.version = version;
    this.error = error;
    this.#fetchedAt = fetchedAt;
  }

  /** Seconds since the data was fetched; `null` for a fallback. */
  get ageSeconds(): number | null {
    return Number.isNaN(this.#fetchedAt) ? null : Math.max(0, now() - this.#fetchedAt);
  }

  toJSON(): object {
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
