/**
 * `Client`: the core's availability cache with Promise reads, sync reads and typed configs.
 *
 * How a read runs: the client keeps one native *slot* per key (and per prompt or config). A
 * read first asks the core without waiting; when the key is warm the answer is a number (where
 * the value came from and the read's generation, which changes only when the core's read is not
 * the same read) and the result for that code is reused, so a warm read never crosses threads
 * and creates nothing new.
 * A cold awaited read waits for the core on a Rust thread of its own and settles its Promise on
 * the JS thread. Fallbacks are produced here, on the JS thread, and only when the core serves
 * one (a fallback function is called only then).
 * @packageDocumentation
 */
import { debuglog } from 'node:util';

import {
  call,
  errorFromInfo,
  FailsoftError,
  InvalidArgumentError,
  PrefetchError,
} from './errors';
import { BROKEN, COLD, FAILED, FALLBACK, native, READ_FALLBACK, READ_WARM_ONLY } from './native';
import type { SlotRead } from './native';
import { Prompt } from './prompt';
import type { ChatPrompt, PromptBase, TextPrompt } from './prompt';
import { toSpec } from './sources';
import type { Source } from './sources';
import type { ChatItem } from './template';
import { deepFreeze, now, Value } from './value';
import type { ValueSource } from './value';

const debug = debuglog('failsoft');

/** Client options: the same names as the C options JSON and Python, camelCased. */
export interface ClientOptions {
  /** Where values come from: `http(...)`, `file(...)`, `langfuse(...)`, `opik(...)`. */
  readonly source: Source;
  /** Cache TTL: `FAILSOFT_TTL_SECONDS`, else the source's own variable, else 300. 0: fetch on every read. */
  readonly ttlSeconds?: number;
  /** How long a read with nothing cached waits for the backend before falling back. 5. */
  readonly coldDeadlineSeconds?: number;
  /** Bound on one background fetch. 10. */
  readonly requestTimeoutSeconds?: number;
  /** Last-known-good snapshots on disk: `FAILSOFT_SNAPSHOT_DIR`, else none. */
  readonly snapshotDir?: string;
  /** Background refresh workers. 4. */
  readonly refreshWorkers?: number;
  /** Keep serving a key whose refresh answers 404 instead of evicting it. false. */
  readonly keepOnNotFound?: boolean;
  /** Fleet mode: share refreshes and the last known good through Redis (SPEC §10). */
  readonly fleet?: FleetOptions;
}

/** Fleet mode options, the same as Python's and the C options JSON's `fleet`. */
export interface FleetOptions {
  /** `redis://…` or `rediss://…` (TLS); default `FAILSOFT_REDIS_URL`. Never shown in errors or status. */
  readonly redisUrl?: string;
  /** Prefix of every Redis key and channel. `failsoft`. */
  readonly prefix?: string;
  /** `share` (take refresh leases; default) or `read_only` (never call the backend). */
  readonly mode?: 'share' | 'read_only';
  /** While Redis is unreachable: `direct` (refresh alone; default) or `stale_only`. */
  readonly onStoreDown?: 'direct' | 'stale_only';
  /** How long a shared entry outlives its last write. 604800 (7 days). */
  readonly retentionSeconds?: number;
}

/** A fallback: the value, or a function producing it (called only when the fallback is served). */
export type Fallback<T> = T | (() => T);

export interface GetOptions<T> {
  /** Served when nothing is cached, there is no snapshot and the fetch failed. */
  readonly fallback?: Fallback<T>;
  /** Overrides the client's TTL for this read. */
  readonly ttlSeconds?: number;
}

/** A text prompt's fallback: the template, or `{prompt, config}`. */
export type TextPromptFallback = string | { readonly prompt: string; readonly config?: Readonly<Record<string, unknown>> };

/** A chat prompt's fallback: the messages, or `{prompt, config}`. */
export type ChatPromptFallback =
  | readonly ChatItem[]
  | { readonly prompt: readonly ChatItem[]; readonly config?: Readonly<Record<string, unknown>> };

export interface PromptOptions<F> {
  /** The label to read (default `production`); not with `version`. */
  readonly label?: string;
  /** The version to read; not with `label`. */
  readonly version?: number;
  /**
   * `text` (default) or `chat`: the fallback must be of this type, and it types the result (a
   * fetched prompt is returned as the source holds it, as Langfuse's SDK does).
   */
  readonly type?: 'text' | 'chat';
  /** Served (as a prompt of version 0) when nothing is cached and the source cannot answer. */
  readonly fallback?: Fallback<F>;
  /** Overrides the client's TTL for this read. */
  readonly cacheTtlSeconds?: number;
}

export interface ConfigOptions<T> {
  /**
   * Declares the fields (and, by their values, their types), creates the project's first config
   * when the backend has none at all, and is served when nothing is cached and the backend
   * cannot answer.
   */
  readonly fallback: T;
  /** The Opik environment to read (default `prod`); an explicit env is never created. */
  readonly env?: string;
  /** A version name (`v3` or `3`) or `latest`; not with `env`. */
  readonly version?: string | number;
  /** Overrides the client's TTL for this read. */
  readonly ttlSeconds?: number;
  /** Create the config from the fallback when the project has none (default true). */
  readonly create?: boolean;
}

/** A config as read: the fallback's fields with the backend's values, read-only. */
export type Config<T> = Readonly<T & { isFallback: boolean }>;

export interface PrefetchOptions {
  /** Bound on the whole prefetch (default: the cold deadline). */
  readonly deadlineSeconds?: number;
}

/** The client's health (SPEC §4). */
export interface Status {
  /** `starting` (nothing fetched yet), `ready`, `stale` (refreshes fail), `fatal` (auth errors). */
  readonly state: 'starting' | 'ready' | 'stale' | 'fatal';
  /** When `state` last changed. */
  readonly since: Date;
  readonly lastError: FailsoftError | null;
  readonly counters: {
    readonly reads: number;
    readonly freshReads: number;
    readonly staleReads: number;
    readonly snapshotReads: number;
    readonly fallbackReads: number;
    readonly errorReads: number;
    readonly fetches: number;
    readonly fetchErrors: number;
    readonly coalescedWaits: number;
    readonly bytesFetched: number;
  };
  /** Keys in the cache. */
  readonly keys: number;
  /** In fleet mode: the store's state (`up`/`down`), mode and counters (adopted, leased, ...). */
  readonly fleet: Readonly<Record<string, unknown>> | null;
}

/** A key's value changed version (hot reload). */
export interface Change {
  /** The key in its text form (`name`, `name@label:x`, `project@env:prod`, ...). */
  readonly key: string;
  readonly oldVersion: number | null;
  readonly newVersion: number | null;
  /** The new data as the source holds it. */
  readonly value: unknown;
}

const SOURCES: readonly ValueSource[] = ['fresh', 'stale', 'snapshot', 'fallback'];
const NONE = Symbol('none');

/** The options of a read that carry its fallback. */
interface FallbackOptions {
  readonly fallback?: unknown;
  readonly type?: string;
}

/** How one kind of read turns the core's answer into its result. */
interface Kind<D, R> {
  /** The converted form of a payload's data (once per generation). */
  convert(data: unknown): D;
  make(data: D, source: ValueSource, version: number | null, fetchedAt: number, error: FailsoftError | null): R;
  /** The result when the core serves the caller's fallback (produced now, on the JS thread). */
  fallback(s: Slot<D, R>, options: FallbackOptions, error: FailsoftError | null): R;
}

/** What the JS side keeps per native slot: its data converted, and the result of its last read. */
class Slot<D = unknown, R = unknown> {
  dataGen: number | undefined = undefined;
  data: D | undefined = undefined;
  /** The result of the read with this code (never a fallback's or a failure's). */
  code = -1;
  result: R | undefined = undefined;
  /** `result` as a settled Promise, for awaited reads. */
  resolved: Promise<R> | undefined = undefined;
  /** The last fallback value given for a prompt and its prompt JSON (checked by the core). */
  fallbackOf: unknown = NONE;
  fallbackType: string | undefined = undefined;
  fallbackBase: PromptBase | undefined = undefined;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly kind: Kind<D, R>,
  ) {}
}

const VALUES: Kind<unknown, Value> = {
  convert: (data) => deepFreeze(data),
  make: (data, source, version, fetchedAt, error) => new Value(data, source, version, fetchedAt, error),
  fallback: (_s, options, error) => new Value(produce(options.fallback), 'fallback', null, NaN, error),
};

const PROMPTS: Kind<PromptBase, Prompt> = {
  convert: (data) => ({ data: deepFreeze(data) as PromptBase['data'] }),
  make: (base, source, _version, fetchedAt, error) => new Prompt(base, source, fetchedAt, error),
  fallback: (s, options, error) =>
    new Prompt(fallbackBase(s, produce(options.fallback), options.type), 'fallback', NaN, error),
};

/**
 * A prompt fallback as the core's prompt JSON (`fallback_prompt`: version 0, checked against
 * the expected type), kept per slot for the last fallback value given.
 */
function fallbackBase(s: Slot<PromptBase, Prompt>, fb: unknown, type: string | undefined): PromptBase {
  const t = type ?? 'text';
  if (s.fallbackOf !== fb || s.fallbackType !== t) {
    const data = call(s.key, () => native.fallbackPrompt(s.key, fb, t));
    s.fallbackBase = { data: deepFreeze(data) as PromptBase['data'] };
    s.fallbackOf = fb;
    s.fallbackType = t;
  }
  return s.fallbackBase!;
}

const NO_OPTIONS: FallbackOptions = Object.freeze({});

/** Checks a prompt's fallback value before the read (a bad one fails even when the source
 * answers; checked once per value); whether there is a fallback. */
function checkPromptFallback(s: Slot<PromptBase, Prompt>, options: PromptOptions<unknown> | undefined): boolean {
  const fb = options?.fallback;
  if (fb === undefined) return false;
  if (typeof fb !== 'function') fallbackBase(s, fb, options?.type);
  return true;
}

function produce<T>(fallback: Fallback<T>): T {
  return typeof fallback === 'function' ? (fallback as () => T)() : fallback;
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * The config kind: the core checked a value from the backend against the fallback (every
 * declared field present, with the fallback's JSON type) and hands out its data once per version.
 */
const CONFIGS: Kind<Config<object>, Config<object>> = {
  fallback: (_s, options) => Object.freeze({ ...(options.fallback as object), isFallback: true }),
  convert: (data) => Object.freeze({ ...deepFreeze(data as object), isFallback: false }),
  make: (config) => config,
};

/**
 * A cache over one source that keeps serving when the source fails (SPEC §2–5).
 *
 * ```ts
 * const client = new Client({ source: langfuse(), ttlSeconds: 60 });
 * const prompt = await client.getPrompt('movie-critic', { fallback: 'Do you like {{movie}}?' });
 * ```
 *
 * Creating a client never touches the network, and nothing it holds keeps the process alive.
 */
export class Client {
  #native: InstanceType<typeof native.NativeClient>;
  /** `read(slot, flags, ttlSeconds)` → read code: the hot path, never throws. */
  #read: (slot: number, flags: number, ttlSeconds: number) => number;
  #values = new Map<string, Slot<unknown, Value>>();
  #prompts = new Map<string, Slot<PromptBase, Prompt>>();
  #configs = new Map<number, Slot>();
  #configsByFallback = new WeakMap<object, Map<string, Slot>>();

  constructor(options: ClientOptions) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError('the client options must be an object with a `source`');
    }
    const spec = toSpec(options);
    this.#native = call('', () => new native.NativeClient(spec));
    this.#read = this.#native.reader();
  }

  /**
   * Reads `key` (SPEC §2): at once when the key has a value (fresh, or stale while a refresh
   * runs); with nothing cached, waits for one shared fetch at most the cold deadline, then
   * serves the snapshot, the fallback, or rejects with the typed error.
   */
  get<T = unknown>(key: string, options?: GetOptions<T>): Promise<Value<T>> {
    try {
      const s = this.#valueSlot(key);
      const flags = options !== undefined && options.fallback !== undefined ? READ_FALLBACK : 0;
      return this.#awaited(s, flags, options?.ttlSeconds ?? NaN, true, options ?? NO_OPTIONS) as Promise<Value<T>>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Reads `key` without ever waiting: the cached value (fresh or stale), else the snapshot,
   * else the fallback (the fetch starts in the background), else throws (`TimeoutError` while
   * the first fetch runs, or the error of the last one).
   */
  getSync<T = unknown>(key: string, options?: GetOptions<T>): Value<T> {
    const s = this.#valueSlot(key);
    const hasFallback = options !== undefined && options.fallback !== undefined;
    const code = this.#read(s.id, hasFallback ? READ_FALLBACK : 0, options?.ttlSeconds ?? NaN);
    return this.#answer(s, code, options ?? NO_OPTIONS) as Value<T>;
  }

  /**
   * Reads a prompt by name and label or version (label `production` when neither), like the
   * Langfuse SDK's `getPrompt`, with a fallback (a template, a list of messages, or a function
   * returning one) served when nothing is cached and the source cannot answer. A fallback value
   * is checked at once: a bad one rejects even when the source answers.
   */
  getPrompt(name: string, options: PromptOptions<ChatPromptFallback> & { readonly type: 'chat' }): Promise<ChatPrompt>;
  getPrompt(name: string, options?: PromptOptions<TextPromptFallback> & { readonly type?: 'text' }): Promise<TextPrompt>;
  getPrompt(name: string, options?: PromptOptions<unknown>): Promise<Prompt> {
    try {
      const s = this.#promptSlot(name, options);
      const flags = checkPromptFallback(s, options) ? READ_FALLBACK : 0;
      return this.#awaited(s, flags, options?.cacheTtlSeconds ?? NaN, true, options ?? NO_OPTIONS);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * `getPrompt` without ever waiting: the cached prompt, else the snapshot, else the fallback
   * (the fetch starts in the background), else throws.
   */
  getPromptSync(name: string, options: PromptOptions<ChatPromptFallback> & { readonly type: 'chat' }): ChatPrompt;
  getPromptSync(name: string, options?: PromptOptions<TextPromptFallback> & { readonly type?: 'text' }): TextPrompt;
  getPromptSync(name: string, options?: PromptOptions<unknown>): Prompt {
    const s = this.#promptSlot(name, options);
    const flags = checkPromptFallback(s, options) ? READ_FALLBACK : 0;
    const code = this.#read(s.id, flags, options?.cacheTtlSeconds ?? NaN);
    return this.#answer(s, code, options ?? NO_OPTIONS);
  }

  /**
   * The config of the source's project, typed like `fallback` (SPEC §7, Opik's
   * `getOrCreateConfig`): created from the fallback when the project has none at all (default
   * env or `latest` only), served from the cache once read, the fallback (with `isFallback`
   * true) when nothing is cached and the backend cannot answer. A config from the backend
   * missing a declared field, or holding one of another type, rejects with
   * `InvalidResponseError` naming the fields; a missing env or version with `NotFoundError`.
   * The same frozen object is returned while the config's version is unchanged.
   */
  getOrCreateConfig<T extends object>(options: ConfigOptions<T>): Promise<Config<T>> {
    try {
      const fallback = options?.fallback;
      if (fallback === null || typeof fallback !== 'object' || Array.isArray(fallback)) {
        throw new InvalidArgumentError('getOrCreateConfig needs a `fallback` object declaring the fields');
      }
      const s = this.#configSlot(fallback, options.env, options.version) as Slot<Config<T>, Config<T>>;
      return this.#awaited(s, READ_FALLBACK, options.ttlSeconds ?? NaN, options.create ?? true, options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Fetches `keys` in parallel (text form: `name`, `name@label:staging`, `name@version:3`,
   * `project@env:prod`), each bounded by `deadlineSeconds` (default: the cold deadline).
   * Rejects with `PrefetchError` when any key failed (the others are cached): call it at
   * start-up and exit on error to fail fast.
   */
  async prefetch(keys: readonly string[], options: PrefetchOptions = {}): Promise<void> {
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
      throw new InvalidArgumentError('prefetch takes a list of keys (strings)');
    }
    const report = await call('', () => this.#native.prefetch([...keys], options.deadlineSeconds ?? NaN));
    if (report.failures.length === 0) return;
    const failures = Object.fromEntries(report.failures.map((f) => [f.key, errorFromInfo(f.error)]));
    throw new PrefetchError(report.message, failures, report.succeeded);
  }

  /** The client's health and counters (SPEC §4). */
  status(): Status {
    const raw = this.#native.status() as {
      state: Status['state'];
      since: number;
      /** The core's error JSON plus the kind's `code` (`NativeClient.status`). */
      last_error: { code: string; key: string; message: string; status: number | null } | null;
      counters: Record<string, number>;
      keys: number;
      fleet: Record<string, unknown> | null;
    };
    const counters: Record<string, number> = {};
    for (const [name, n] of Object.entries(raw.counters)) {
      counters[name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = n;
    }
    const e = raw.last_error;
    return {
      state: raw.state,
      since: new Date(raw.since * 1000),
      lastError: e ? errorFromInfo({ ...e, status: e.status ?? undefined }) : null,
      counters: counters as unknown as Status['counters'],
      keys: raw.keys,
      fleet: raw.fleet ?? null,
    };
  }

  /**
   * Forces a refresh of `key`: fleet-wide in fleet mode (the shared entry stops counting as
   * fresh and every process is told; one of them fetches), else in this process.
   */
  async invalidate(key: string): Promise<void> {
    const failed = await this.#native.invalidate(key);
    // The error names the key as the core writes it, not as the caller spelled it.
    if (failed) throw errorFromInfo(failed);
  }

  /**
   * Calls `listener` on the JS thread after a key's value changes version (hot reload), off
   * the read path. A listener that throws is logged (`NODE_DEBUG=failsoft`) and ignored.
   * Listening never keeps the process alive. Returns a function that stops it.
   */
  onChange(listener: (change: Change) => void): () => void {
    if (typeof listener !== 'function') throw new InvalidArgumentError('onChange takes a function');
    // Changes reach the JS thread through a queue: one queued before the removal is dropped here.
    let listening = true;
    // `c` is the core's `Change` JSON; its `value` is in the `Value` JSON shape.
    type CoreChange = { key: string; old_version: number | null; new_version: number | null; value: { value: unknown } };
    const id = this.#native.onChange((c: CoreChange) => {
      if (!listening) return;
      try {
        listener({ key: c.key, oldVersion: c.old_version, newVersion: c.new_version, value: c.value.value });
      } catch (e) {
        debug('an onChange listener threw for %s; ignored: %s', c.key, e);
      }
    });
    return () => {
      listening = false;
      this.#native.removeListener(id);
    };
  }

  /**
   * Stops the background threads. Idempotent; settles within about a second even when a request
   * hangs. Cached values keep being served; nothing is fetched afterwards.
   */
  close(): Promise<void> {
    return this.#native.close();
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#native.closed;
  }

  #valueSlot(key: string): Slot<unknown, Value> {
    let s = this.#values.get(key);
    if (s === undefined) {
      if (typeof key !== 'string') throw new InvalidArgumentError(`a key must be a string, got ${typeName(key)}`);
      s = new Slot(this.#native.slot(key), key, VALUES);
      this.#values.set(key, s);
    }
    return s;
  }

  #promptSlot(name: string, options: PromptOptions<unknown> | undefined): Slot<PromptBase, Prompt> {
    const label = options?.label;
    const version = options?.version;
    const id = label === undefined && version === undefined ? name : `${name}\0${label ?? ''}\0${version ?? ''}`;
    let s = this.#prompts.get(id);
    if (s === undefined) {
      if (typeof name !== 'string') throw new InvalidArgumentError(`a prompt name must be a string, got ${typeName(name)}`);
      const slot = call(name, () => this.#native.promptSlot(name, label ?? undefined, version ?? undefined));
      s = new Slot(slot, name, PROMPTS);
      this.#prompts.set(id, s);
    }
    return s;
  }

  #configSlot(fallback: object, env: string | undefined, version: string | number | undefined): Slot {
    const v = version?.toString();
    const id = `${env ?? ''}\0${v ?? ''}`;
    let byKey = this.#configsByFallback.get(fallback);
    if (byKey === undefined) this.#configsByFallback.set(fallback, (byKey = new Map()));
    let s = byKey.get(id);
    if (s === undefined) {
      // A new fallback object with the same fields (an object literal per call) gets the same
      // native slot (the addon keeps one per key and fields), and so the same JS one.
      const fields = JSON.parse(JSON.stringify(fallback)) as Record<string, unknown>;
      // Errors name the key as the core writes it (the slot's own key is for bug reports only).
      const slot = call('', () => this.#native.configSlot(env, v, fields));
      s = this.#configs.get(slot) ?? new Slot(slot, 'config', CONFIGS);
      this.#configs.set(slot, s);
      byKey.set(id, s);
    }
    return s;
  }

  /**
   * An awaited read: answered on the JS thread when the key is warm (an unchanged answer is
   * the same settled Promise), else waited for on a native thread.
   */
  #awaited<D, R>(s: Slot<D, R>, flags: number, ttl: number, create: boolean, options: FallbackOptions): Promise<R> {
    const code = this.#read(s.id, flags | READ_WARM_ONLY, ttl);
    if (code === s.code) return (s.resolved ??= Promise.resolve(s.result as R));
    if (code !== COLD) return Promise.resolve(this.#answer(s, code, options));
    return this.#native
      .readWait(s.id, (flags & READ_FALLBACK) !== 0, ttl, create)
      .then((read) => this.#answer(s, read.code, options, read));
  }

  /**
   * The result of a read: `code` from the native read; `read` the whole answer of an awaited
   * cold read, else the slot's last read is asked for when the code is not the last result's.
   */
  #answer<D, R>(s: Slot<D, R>, code: number, options: FallbackOptions, read?: SlotRead): R {
    if (code === s.code) return s.result as R;
    if (code === BROKEN) throw new Error(`failsoft: the native read of ${s.key} failed (a bug: please report it)`);
    const r = read ?? this.#native.slotRead(s.id, s.dataGen);
    const error = r.error ? errorFromInfo(r.error) : null;
    if (code === FAILED) throw error;
    if (code === FALLBACK) return s.kind.fallback(s, options, error);
    const at = now() - r.age;
    // A code without a generation (bits 0-2 only): an awaited read older than the slot's last
    // one, which the slot did not keep, so neither does this side.
    if (code < 8) return s.kind.make(s.kind.convert(r.data), SOURCES[code], r.version ?? null, at, error);
    if (r.dataGen !== s.dataGen) {
      s.data = s.kind.convert(r.data);
      s.dataGen = r.dataGen;
    }
    s.code = code;
    s.resolved = undefined;
    return (s.result = s.kind.make(s.data as D, SOURCES[code & 7], r.version ?? null, at, error));
  }
}
