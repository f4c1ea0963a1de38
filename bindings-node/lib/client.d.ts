import { FailsoftError } from './errors';
import type { ChatPrompt, TextPrompt } from './prompt';
import type { Source } from './sources';
import type { ChatItem } from './template';
import { Value } from './value';
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
export type TextPromptFallback = string | {
    readonly prompt: string;
    readonly config?: Readonly<Record<string, unknown>>;
};
/** A chat prompt's fallback: the messages, or `{prompt, config}`. */
export type ChatPromptFallback = readonly ChatItem[] | {
    readonly prompt: readonly ChatItem[];
    readonly config?: Readonly<Record<string, unknown>>;
};
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
export type Config<T> = Readonly<T & {
    isFallback: boolean;
}>;
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
export declare class Client {
    #private;
    constructor(options: ClientOptions);
    /**
     * Reads `key` (SPEC §2): at once when the key has a value (fresh, or stale while a refresh
     * runs); with nothing cached, waits for one shared fetch at most the cold deadline, then
     * serves the snapshot, the fallback, or rejects with the typed error.
     */
    get<T = unknown>(key: string, options?: GetOptions<T>): Promise<Value<T>>;
    /**
     * Reads `key` without ever waiting: the cached value (fresh or stale), else the snapshot,
     * else the fallback (the fetch starts in the background), else throws (`TimeoutError` while
     * the first fetch runs, or the error of the last one).
     */
    getSync<T = unknown>(key: string, options?: GetOptions<T>): Value<T>;
    /**
     * Reads a prompt by name and label or version (label `production` when neither), like the
     * Langfuse SDK's `getPrompt`, with a fallback (a template, a list of messages, or a function
     * returning one) served when nothing is cached and the source cannot answer. A fallback value
     * is checked at once: a bad one rejects even when the source answers.
     */
    getPrompt(name: string, options: PromptOptions<ChatPromptFallback> & {
        readonly type: 'chat';
    }): Promise<ChatPrompt>;
    getPrompt(name: string, options?: PromptOptions<TextPromptFallback> & {
        readonly type?: 'text';
    }): Promise<TextPrompt>;
    /**
     * `getPrompt` without ever waiting: the cached prompt, else the snapshot, else the fallback
     * (the fetch starts in the background), else throws.
     */
    getPromptSync(name: string, options: PromptOptions<ChatPromptFallback> & {
        readonly type: 'chat';
    }): ChatPrompt;
    getPromptSync(name: string, options?: PromptOptions<TextPromptFallback> & {
        readonly type?: 'text';
    }): TextPrompt;
    /**
     * The config of the source's project, typed like `fallback` (SPEC §7, Opik's
     * `getOrCreateConfig`): created from the fallback when the project has none at all (default
     * env or `latest` only), served from the cache once read, the fallback (with `isFallback`
     * true) when nothing is cached and the backend cannot answer. A config from the backend
     * missing a declared field, or holding one of another type, rejects with
     * `InvalidResponseError` naming the fields; a missing env or version with `NotFoundError`.
     * The same frozen object is returned while the config's version is unchanged.
     */
    getOrCreateConfig<T extends object>(options: ConfigOptions<T>): Promise<Config<T>>;
    /**
     * Fetches `keys` in parallel (text form: `name`, `name@label:staging`, `name@version:3`,
     * `project@env:prod`), each bounded by `deadlineSeconds` (default: the cold deadline).
     * Rejects with `PrefetchError` when any key failed (the others are cached): call it at
     * start-up and exit on error to fail fast.
     */
    prefetch(keys: readonly string[], options?: PrefetchOptions): Promise<void>;
    /** The client's health and counters (SPEC §4). */
    status(): Status;
    /**
     * Forces a refresh of `key`: fleet-wide in fleet mode (the shared entry stops counting as
     * fresh and every process is told; one of them fetches), else in this process.
     */
    invalidate(key: string): Promise<void>;
    /**
     * Calls `listener` on the JS thread after a key's value changes version (hot reload), off
     * the read path. A listener that throws is logged (`NODE_DEBUG=failsoft`) and ignored.
     * Listening never keeps the process alive. Returns a function that stops it.
     */
    onChange(listener: (change: Change) => void): () => void;
    /**
     * Stops the background threads. Idempotent; settles within about a second even when a request
     * hangs. Cached values keep being served; nothing is fetched afterwards.
     */
    close(): Promise<void>;
    /** Whether `close()` was called. */
    get closed(): boolean;
}
