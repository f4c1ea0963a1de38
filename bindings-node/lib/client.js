"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.Client = void 0;
/**
 * `Client`: the core's availability cache with Promise reads, sync reads and typed configs.
 *
 * How a read runs: the client keeps one native *slot* per key (and per prompt or config). A
 * read first asks the core without waiting; when the key is warm the answer is a number (where
 * the value came from, whether it carries an error, the payload's generation) and the JS objects
 * for that generation are reused, so a warm read never crosses threads and creates nothing new.
 * A cold awaited read waits for the core on a Rust thread of its own and settles its Promise on
 * the JS thread. Fallbacks are produced here, on the JS thread, and only when the core serves
 * one (a fallback function is called only then).
 * @packageDocumentation
 */
const node_util_1 = require("node:util");
const errors_1 = require("./errors");
const native_1 = require("./native");
const prompt_1 = require("./prompt");
const sources_1 = require("./sources");
const value_1 = require("./value");
const debug = (0, node_util_1.debuglog)('failsoft');
const SOURCES = ['fresh', 'stale', 'snapshot', 'fallback'];
const NONE = Symbol('none');
const CLIENT_OPTIONS_NESTED = new Set(['source', 'fleet']);
/** What the JS side keeps per native slot: the conversion of the slot's current generation. */
class Slot {
    id;
    key;
    kind;
    gen = -1;
    data = undefined;
    version = null;
    fetchedAt = NaN;
    cached = undefined;
    cachedCode = -1;
    /** `cached` as a settled Promise, for awaited reads. */
    resolved = undefined;
    /** The last fallback value given for a prompt and its prompt JSON (checked by the core). */
    fallbackOf = NONE;
    fallbackType = undefined;
    fallbackBase = undefined;
    constructor(id, key, kind) {
        this.id = id;
        this.key = key;
        this.kind = kind;
    }
}
const VALUES = {
    convert: (data) => (0, value_1.deepFreeze)(data),
    make: (data, source, version, fetchedAt, error) => new value_1.Value(data, source, version, fetchedAt, error),
    fallback: (_s, options, error) => new value_1.Value(produce(options.fallback), 'fallback', null, NaN, error),
};
const PROMPTS = {
    convert: (data) => ({ data: (0, value_1.deepFreeze)(data) }),
    make: (base, source, _version, fetchedAt, error) => new prompt_1.Prompt(base, source, fetchedAt, error),
    fallback: (s, options, error) => new prompt_1.Prompt(fallbackBase(s, produce(options.fallback), options.type), 'fallback', NaN, error),
};
/**
 * A prompt fallback as the core's prompt JSON (`fallback_prompt`: version 0, checked against
 * the expected type), kept per slot for the last fallback value given.
 */
function fallbackBase(s, fb, type) {
    const t = type ?? 'text';
    if (s.fallbackOf !== fb || s.fallbackType !== t || s.fallbackBase === undefined) {
        let data;
        try {
            data = native_1.native.fallbackPrompt(s.key, fb, t);
        }
        catch (e) {
            throw (0, errors_1.toFailsoftError)(e, s.key);
        }
        s.fallbackBase = { data: (0, value_1.deepFreeze)(data) };
        s.fallbackOf = fb;
        s.fallbackType = t;
    }
    return s.fallbackBase;
}
const NO_OPTIONS = Object.freeze({});
/** Checks a prompt's fallback value before the read (a bad one fails even when the source
 * answers; checked once per value); whether there is a fallback. */
function checkPromptFallback(s, options) {
    const fb = options?.fallback;
    if (fb === undefined)
        return false;
    if (typeof fb !== 'function')
        fallbackBase(s, fb, options?.type);
    return true;
}
function ttlArg(seconds) {
    return seconds === undefined || seconds === null ? NaN : seconds;
}
function produce(fallback) {
    return typeof fallback === 'function' ? fallback() : fallback;
}
function typeName(v) {
    return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
/**
 * The config kind of one fallback: a value from the backend must have every field the fallback
 * declares (the core checks that) with the fallback's JS type (checked here: the core leaves
 * types to each language). A `null` in the fallback accepts anything.
 */
function configKind(key, fallback) {
    const declared = Object.entries(fallback);
    return {
        fallback: (_s, options) => Object.freeze({ ...options.fallback, isFallback: true }),
        convert: (data, version) => {
            const obj = data;
            const wrong = [];
            for (const [name, fb] of declared) {
                if (fb === null || fb === undefined)
                    continue;
                const got = obj[name];
                if (typeName(got) !== typeName(fb))
                    wrong.push(`${name} (expected ${typeName(fb)}, got ${typeName(got)})`);
            }
            if (wrong.length > 0) {
                const v = version === null ? '' : ` (version ${version})`;
                throw new errors_1.InvalidResponseError(`config ${key}${v} has mistyped fields: ${wrong.join(', ')}`, { key });
            }
            return Object.freeze({ ...(0, value_1.deepFreeze)(obj), isFallback: false });
        },
        make: (config) => config,
    };
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
class Client {
    #native;
    /** `read(slot, flags, ttlSeconds)` → read code: the hot path, never throws. */
    #read;
    #values = new Map();
    #prompts = new Map();
    #configs = new Map();
    #configsByFallback = new WeakMap();
    constructor(options) {
        if (options === null || typeof options !== 'object') {
            throw new errors_1.InvalidArgumentError('the client options must be an object with a `source`');
        }
        const spec = (0, sources_1.toSpec)(options, CLIENT_OPTIONS_NESTED);
        try {
            this.#native = new native_1.native.NativeClient(spec);
        }
        catch (e) {
            throw (0, errors_1.toFailsoftError)(e);
        }
        this.#read = this.#native.reader();
    }
    /**
     * Reads `key` (SPEC §2): at once when the key has a value (fresh, or stale while a refresh
     * runs); with nothing cached, waits for one shared fetch at most the cold deadline, then
     * serves the snapshot, the fallback, or rejects with the typed error.
     */
    get(key, options) {
        try {
            const s = this.#valueSlot(key);
            const flags = options !== undefined && options.fallback !== undefined ? native_1.READ_FALLBACK : 0;
            return this.#awaited(s, flags, ttlArg(options?.ttlSeconds), true, options ?? NO_OPTIONS);
        }
        catch (e) {
            return Promise.reject(e);
        }
    }
    /**
     * Reads `key` without ever waiting: the cached value (fresh or stale), else the snapshot,
     * else the fallback (the fetch starts in the background), else throws (`TimeoutError` while
     * the first fetch runs, or the error of the last one).
     */
    getSync(key, options) {
        const s = this.#valueSlot(key);
        const hasFallback = options !== undefined && options.fallback !== undefined;
        const code = this.#read(s.id, hasFallback ? native_1.READ_FALLBACK : 0, ttlArg(options?.ttlSeconds));
        return this.#answer(s, code, undefined, options ?? NO_OPTIONS);
    }
    getPrompt(name, options) {
        try {
            const s = this.#promptSlot(name, options);
            const flags = checkPromptFallback(s, options) ? native_1.READ_FALLBACK : 0;
            return this.#awaited(s, flags, ttlArg(options?.cacheTtlSeconds), true, options ?? NO_OPTIONS);
        }
        catch (e) {
            return Promise.reject(e);
        }
    }
    getPromptSync(name, options) {
        const s = this.#promptSlot(name, options);
        const flags = checkPromptFallback(s, options) ? native_1.READ_FALLBACK : 0;
        const code = this.#read(s.id, flags, ttlArg(options?.cacheTtlSeconds));
        return this.#answer(s, code, undefined, options ?? NO_OPTIONS);
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
    getOrCreateConfig(options) {
        try {
            const fallback = options?.fallback;
            if (fallback === null || typeof fallback !== 'object' || Array.isArray(fallback)) {
                throw new errors_1.InvalidArgumentError('getOrCreateConfig needs a `fallback` object declaring the fields');
            }
            const s = this.#configSlot(fallback, options.env, options.version);
            return this.#awaited(s, native_1.READ_FALLBACK, ttlArg(options.ttlSeconds), options.create ?? true, options);
        }
        catch (e) {
            return Promise.reject(e);
        }
    }
    /**
     * Fetches `keys` in parallel (text form: `name`, `name@label:staging`, `name@version:3`,
     * `project@env:prod`), each bounded by `deadlineSeconds` (default: the cold deadline).
     * Rejects with `PrefetchError` when any key failed (the others are cached): call it at
     * start-up and exit on error to fail fast.
     */
    async prefetch(keys, options = {}) {
        if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
            throw new errors_1.InvalidArgumentError('prefetch takes a list of keys (strings)');
        }
        const report = await this.#call('', () => this.#native.prefetch([...keys], ttlArg(options.deadlineSeconds)));
        if (report.failures.length === 0)
            return;
        const failures = {};
        for (const f of report.failures)
            failures[f.key] = (0, errors_1.errorFromInfo)(f.error);
        throw new errors_1.PrefetchError(report.message, failures, report.succeeded);
    }
    /** The client's health and counters (SPEC §4). */
    status() {
        const raw = this.#native.status();
        const counters = {};
        for (const [name, n] of Object.entries(raw.counters)) {
            counters[name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = n;
        }
        const e = raw.last_error;
        return {
            state: raw.state,
            since: new Date(raw.since * 1000),
            lastError: e
                ? (0, errors_1.errorFromInfo)({
                    code: e.kind.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase(),
                    key: e.key,
                    message: e.message,
                    status: e.status ?? undefined,
                })
                : null,
            counters: counters,
            keys: raw.keys,
            fleet: raw.fleet ?? null,
        };
    }
    /**
     * Forces a refresh of `key`: fleet-wide in fleet mode (the shared entry stops counting as
     * fresh and every process is told; one of them fetches), else in this process.
     */
    async invalidate(key) {
        const failed = (await this.#native.invalidate(key));
        if (failed)
            throw (0, errors_1.errorFromInfo)({ code: failed[0], key, message: failed[1] });
    }
    /**
     * Calls `listener` on the JS thread after a key's value changes version (hot reload), off
     * the read path. A listener that throws is logged (`NODE_DEBUG=failsoft`) and ignored.
     * Listening never keeps the process alive. Returns a function that stops it.
     */
    onChange(listener) {
        if (typeof listener !== 'function')
            throw new errors_1.InvalidArgumentError('onChange takes a function');
        const id = this.#native.onChange((c) => {
            try {
                listener({ key: c.key, oldVersion: c.oldVersion ?? null, newVersion: c.newVersion ?? null, value: c.value });
            }
            catch (e) {
                debug('an onChange listener threw for %s; ignored: %s', c.key, e);
            }
        });
        return () => this.#native.removeListener(id);
    }
    /**
     * Stops the background threads. Idempotent; settles within about a second even when a request
     * hangs. Cached values keep being served; nothing is fetched afterwards.
     */
    close() {
        return this.#native.close();
    }
    /** Whether `close()` was called. */
    get closed() {
        return this.#native.closed;
    }
    #call(key, f) {
        try {
            return f();
        }
        catch (e) {
            throw (0, errors_1.toFailsoftError)(e, key);
        }
    }
    #valueSlot(key) {
        let s = this.#values.get(key);
        if (s === undefined) {
            if (typeof key !== 'string')
                throw new errors_1.InvalidArgumentError(`a key must be a string, got ${typeName(key)}`);
            s = new Slot(this.#native.slot(key), key, VALUES);
            this.#values.set(key, s);
        }
        return s;
    }
    #promptSlot(name, options) {
        const label = options?.label;
        const version = options?.version;
        const id = label === undefined && version === undefined ? name : `${name}\0${label ?? ''}\0${version ?? ''}`;
        let s = this.#prompts.get(id);
        if (s === undefined) {
            if (typeof name !== 'string')
                throw new errors_1.InvalidArgumentError(`a prompt name must be a string, got ${typeName(name)}`);
            const slot = this.#call(name, () => this.#native.promptSlot(name, label ?? undefined, version ?? undefined));
            s = new Slot(slot, name, PROMPTS);
            this.#prompts.set(id, s);
        }
        return s;
    }
    #configSlot(fallback, env, version) {
        const v = version === undefined || version === null ? undefined : String(version);
        const id = `${env ?? ''}\0${v ?? ''}`;
        let byKey = this.#configsByFallback.get(fallback);
        let s = byKey?.get(id);
        if (s !== undefined)
            return s;
        // A new fallback object with the same fields (an object literal per call) shares the slot.
        const text = `${id}\0${JSON.stringify(fallback)}`;
        s = this.#configs.get(text);
        if (s === undefined) {
            const fields = JSON.parse(JSON.stringify(fallback));
            const key = `${env !== undefined ? `@env:${env}` : v !== undefined ? `@version:${v}` : ''}`;
            const slot = this.#call(key, () => this.#native.configSlot(env, v, fields));
            s = new Slot(slot, key, configKind(key, fallback));
            this.#configs.set(text, s);
        }
        if (byKey === undefined) {
            byKey = new Map();
            this.#configsByFallback.set(fallback, byKey);
        }
        byKey.set(id, s);
        return s;
    }
    /**
     * An awaited read: answered on the JS thread when the key is warm (an unchanged answer is
     * the same settled Promise), else waited for on a native thread.
     */
    #awaited(s, flags, ttl, create, options) {
        const code = this.#read(s.id, flags | native_1.READ_WARM_ONLY, ttl);
        if (code === s.cachedCode)
            return (s.resolved ??= Promise.resolve(s.cached));
        if (code !== native_1.COLD)
            return Promise.resolve(this.#answer(s, code, undefined, options));
        return this.#native
            .readWait(s.id, (flags & native_1.READ_FALLBACK) !== 0, ttl, create)
            .then((out) => this.#answer(s, out.code, out, options));
    }
    /**
     * The result of a read: `code` from the native read, `out` the whole answer of an awaited cold
     * read (the slot may have moved on by the time it settles, so it is used as it is).
     */
    #answer(s, code, out, options) {
        const src = code & 7;
        if (src === native_1.BROKEN)
            throw new Error(`failsoft: the native read of ${s.key} failed (a bug: please report it)`);
        if (src === native_1.FAILED)
            throw (0, errors_1.errorFromInfo)(out ? out.error : this.#native.slotError(s.id));
        const error = code & native_1.HAS_ERROR ? (0, errors_1.errorFromInfo)(out ? out.error : this.#native.slotError(s.id)) : null;
        if (src === native_1.FALLBACK)
            return s.kind.fallback(s, options, error);
        const gen = code >>> native_1.GEN_SHIFT;
        if (gen !== s.gen) {
            // A cold read's answer comes with its payload; a sync read may have moved the slot to a
            // newer generation meanwhile, and an older one never replaces it.
            if (out !== undefined && s.gen !== -1 && gen < s.gen) {
                const p = out.payload;
                const version = p.version ?? null;
                return s.kind.make(s.kind.convert(p.data, version), SOURCES[src], version, (0, value_1.now)() - p.age, error);
            }
            const p = out !== undefined ? out.payload : this.#native.slotPayload(s.id);
            const version = p.version ?? null;
            s.data = s.kind.convert(p.data, version);
            s.version = version;
            s.fetchedAt = (0, value_1.now)() - p.age;
            s.gen = gen;
            s.cached = undefined;
            s.cachedCode = -1;
            s.resolved = undefined;
        }
        if (error === null && code === s.cachedCode)
            return s.cached;
        const r = s.kind.make(s.data, SOURCES[src], s.version, s.fetchedAt, error);
        if (error === null) {
            s.cached = r;
            s.cachedCode = code;
            s.resolved = undefined;
        }
        return r;
    }
}
exports.Client = Client;
