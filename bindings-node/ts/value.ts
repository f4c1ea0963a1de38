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

/** What every read's result says besides its data: where it came from, its error, its age. */
export abstract class ReadResult {
  /** `fresh`, `stale`, `snapshot` or `fallback`. */
  readonly source: ValueSource;
  /** True when the caller's fallback was served. */
  readonly isFallback: boolean;
  /** Why the result is not fresh from the backend, when a fetch failed. */
  readonly error: FailsoftError | null;
  #fetchedAt: number;

  /** @internal */
  constructor(source: ValueSource, fetchedAt: number, error: FailsoftError | null) {
    this.source = source;
    this.isFallback = source === 'fallback';
    this.error = error;
    this.#fetchedAt = fetchedAt;
  }

  /** Seconds since the data was fetched; `null` for a fallback. */
  get ageSeconds(): number | null {
    return Number.isNaN(this.#fetchedAt) ? null : Math.max(0, now() - this.#fetchedAt);
  }

  /** The subclass's public fields, then the base's, `ageSeconds`, and the error as `{code, key, message}`. */
  toJSON(): object {
    const { source: _s, isFallback: _f, error: _e, ...own } = this;
    return json(this, own, {});
  }
}

/**
 * `head`, `source`, `isFallback`, `tail`, `ageSeconds`, `error`: the key order each result's
 * JSON has always had (users diff and snapshot it).
 */
function json(r: ReadResult, head: object, tail: object): object {
  const e = r.error;
  const error = e && { code: e.code, key: e.key, message: e.message };
  return { ...head, source: r.source, isFallback: r.isFallback, ...tail, ageSeconds: r.ageSeconds, error };
}

/**
 * The result of `Client.get` / `Client.getSync`. The value is read-only when it comes from the
 * cache (fresh, stale or snapshot); a fallback is the caller's own object.
 */
export class Value<T = unknown> extends ReadResult {
  /** The data. */
  readonly value: T;
  /** The source's version of the data, when it has one. */
  readonly version: number | null;

  /** @internal */
  constructor(value: T, source: ValueSource, version: number | null, fetchedAt: number, error: FailsoftError | null) {
    super(source, fetchedAt, error);
    this.value = value;
    this.version = version;
  }

  /** `value`, `source`, `isFallback`, `version`, `ageSeconds`, `error`. */
  override toJSON(): object {
    return json(this, { value: this.value }, { version: this.version });
  }
}
