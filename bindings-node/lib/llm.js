"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.ChatCompletionStream = exports.Completions = exports.OpenAI = exports.OpenAICompatibleClient = void 0;
/**
 * LLM calls with fallback (SPEC §8): an OpenAI-compatible chat completion tried on an ordered
 * list of targets, shaped like the OpenAI SDK (and OpenPipe's `fallback` option).
 *
 * ```ts
 * import { OpenAI, OpenAICompatibleClient } from 'failsoft';
 * const client = new OpenAI({ baseURL, apiKey, timeout: 10_000,
 *   fallbackClient: new OpenAICompatibleClient({ baseURL: 'https://api.openai.com/v1', apiKey: key }) });
 * const c = await client.chat.completions.create({ model: 'openpipe:my-ft-model', messages,
 *   fallback: { model: 'gpt-4o-mini', timeout: 20_000 } });
 * c.choices[0].message.content; c.isFallback; c.servedBy; c.attempts;
 * ```
 *
 * A call waits on a Rust thread (the core's `LlmClient`), never on the JS thread; its Promise
 * settles on the JS thread. One native client is kept per `OpenAI` instance and target list, so
 * the targets' circuit breakers are shared by its calls.
 * @packageDocumentation
 */
const node_util_1 = require("node:util");
const errors_1 = require("./errors");
const native_1 = require("./native");
// Keys are kept out of the objects (and so out of `util.inspect` and JSON.stringify).
const keys = new WeakMap();
/** What `util.inspect` and `JSON.stringify` show of a client: its base URL without a password. */
function shown(client) {
    return { baseURL: native_1.native.redact(client.baseURL), timeout: client.timeout };
}
/** An OpenAI-compatible API serving fallbacks (OpenPipe's `OpenAICompatibleClient`). */
class OpenAICompatibleClient {
    baseURL;
    timeout;
    constructor(options = {}) {
        checkKnown('OpenAICompatibleClient', options, ['baseURL', 'apiKey', 'timeout']);
        this.baseURL = baseUrlOf(options.baseURL);
        this.timeout = checkMs('timeout', options.timeout);
        keys.set(this, checkString('apiKey', options.apiKey) ?? process.env.OPENAI_API_KEY);
    }
    toJSON() {
        return shown(this);
    }
    [node_util_1.inspect.custom]() {
        return `${this.constructor.name} ${(0, node_util_1.inspect)(shown(this))}`;
    }
}
exports.OpenAICompatibleClient = OpenAICompatibleClient;
/** Native clients kept per `OpenAI` instance (by target list and options); the oldest goes past this. */
const MAX_NATIVE = 64;
const OPENAI_OPTIONS = [
    'baseURL',
    'apiKey',
    'timeout',
    'maxRetries',
    'fallbackClient',
    'openpipe',
    'deadline',
    'firstChunkTimeout',
    'retryAfterCap',
    'breakerThreshold',
    'breakerCooldown',
    'stopStatuses',
    'streamIdleTimeout',
    'streamRecovery',
    'falloverClasses',
];
/**
 * An OpenAI-compatible client whose chat completions fall over to fallback targets
 * (`client.chat.completions.create(...)`, as in the OpenAI SDK and OpenPipe's).
 */
class OpenAI {
    baseURL;
    timeout;
    chat;
    #options;
    #fallbackClient;
    #native = new Map();
    constructor(options = {}) {
        checkKnown('OpenAI', options, OPENAI_OPTIONS);
        this.baseURL = baseUrlOf(options.baseURL);
        this.timeout = checkMs('timeout', options.timeout);
        keys.set(this, checkString('apiKey', options.apiKey) ?? process.env.OPENAI_API_KEY);
        for (const name of ['deadline', 'firstChunkTimeout', 'retryAfterCap', 'breakerCooldown']) {
            checkMs(name, options[name]);
        }
        for (const name of ['maxRetries', 'breakerThreshold'])
            checkCount(name, options[name]);
        const fallbackClient = options.fallbackClient ?? options.openpipe?.fallbackClient;
        if (fallbackClient !== undefined && !(fallbackClient instanceof OpenAICompatibleClient)) {
            throw new errors_1.InvalidArgumentError('fallbackClient must be an OpenAICompatibleClient');
        }
        this.#fallbackClient = fallbackClient;
        this.#options = { ...options };
        this.chat = Object.freeze({ completions: new Completions(this) });
    }
    toJSON() {
        return shown(this);
    }
    [node_util_1.inspect.custom]() {
        return `${this.constructor.name} ${(0, node_util_1.inspect)(shown(this))}`;
    }
    /** @internal The native client for these targets (one per distinct list, sharing its breakers). */
    _native(params, requestOptions) {
        const o = this.#options;
        const timeout = checkMs('timeout', requestOptions.timeout) ?? this.timeout;
        const maxRetries = checkCount('maxRetries', requestOptions.maxRetries) ?? o.maxRetries;
        const targets = [
            { base_url: this.baseURL, api_key: keys.get(this), timeout_seconds: seconds(timeout) },
        ];
        const given = params.fallback ?? params.openpipe?.fallback;
        const list = given === undefined || given === null ? [] : Array.isArray(given) ? given : [given];
        list.forEach((fb, i) => {
            const name = `fallback[${i}]`;
            if (fb === null || typeof fb !== 'object')
                throw new errors_1.InvalidArgumentError(`${name} must be an object ({model, timeout, client})`);
            checkKnown(name, fb, ['model', 'timeout', 'client']);
            const client = fb.client ?? this.#fallbackClient;
            if (client !== undefined && !(client instanceof OpenAICompatibleClient)) {
                throw new errors_1.InvalidArgumentError(`${name}.client must be an OpenAICompatibleClient`);
            }
            const t = checkMs(`${name}.timeout`, fb.timeout) ?? client?.timeout ?? this.timeout;
            targets.push({
                base_url: client ? client.baseURL : this.baseURL,
                api_key: client ? keys.get(client) : keys.get(this),
                model: checkString(`${name}.model`, fb.model),
                timeout_seconds: seconds(t),
            });
        });
        const spec = {
            targets,
            deadline_seconds: seconds(o.deadline),
            max_retries: maxRetries,
            retry_after_cap_seconds: seconds(o.retryAfterCap),
            breaker_threshold: o.breakerThreshold,
            breaker_cooldown_seconds: seconds(o.breakerCooldown),
            first_chunk_timeout_seconds: seconds(o.firstChunkTimeout),
            stop_statuses: o.stopStatuses === undefined ? undefined : [...o.stopStatuses],
            // Checked by core (LlmSpec), which names the option in its error.
            stream_idle_timeout_seconds: passSeconds(o.streamIdleTimeout),
            stream_recovery: o.streamRecovery,
            fallover_classes: o.falloverClasses,
        };
        const id = JSON.stringify(spec);
        let llm = this.#native.get(id);
        if (llm === undefined) {
            try {
                llm = new native_1.native.NativeLlm(spec);
            }
            catch (e) {
                throw (0, errors_1.toFailsoftError)(e);
            }
            if (this.#native.size >= MAX_NATIVE)
                this.#native.delete(this.#native.keys().next().value);
            this.#native.set(id, llm);
        }
        return llm;
    }
}
exports.OpenAI = OpenAI;
/** `client.chat.completions`. */
class Completions {
    #client;
    /** @internal */
    constructor(client) {
        this.#client = client;
    }
    async create(body, options = {}) {
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
            throw new errors_1.InvalidArgumentError('create() needs the request body ({model, messages, ...})');
        }
        checkKnown('request options', options, ['timeout', 'maxRetries']);
        const llm = this.#client._native(body, options);
        const { fallback: _f, openpipe: _o, streamRecovery, ...request } = body;
        if (request.stream === true) {
            let stream;
            try {
                stream = llm.stream(request, streamRecovery === undefined ? undefined : { stream_recovery: streamRecovery });
            }
            catch (e) {
                throw (0, errors_1.toFailsoftError)(e);
            }
            const opened = await stream.open();
            if (opened.error)
                throw llmError(opened.error, opened.attempts);
            return new ChatCompletionStream(stream, opened);
        }
        let outcome;
        try {
            outcome = await llm.chat(request);
        }
        catch (e) {
            throw (0, errors_1.toFailsoftError)(e);
        }
        if (outcome.error || !outcome.completion)
            throw llmError(outcome.error, outcome.attempts);
        const completion = outcome.completion;
        Object.defineProperties(completion, {
            isFallback: { value: outcome.isFallback, enumerable: false },
            servedBy: { value: servedBy(outcome), enumerable: false },
            attempts: { value: attemptsOf(outcome.attempts), enumerable: false },
        });
        return completion;
    }
}
exports.Completions = Completions;
/**
 * A streaming completion: iterate it (`for await`) for each chunk, read from the connection as
 * it arrives. It ends after the server's `[DONE]`; a stream that breaks, stalls or passes the
 * deadline before that throws a `FailsoftError` (`UNAVAILABLE`, `TIMEOUT`, `INVALID_RESPONSE`)
 * whose message says it is incomplete, and `incomplete` turns true. A close after the finish
 * reason without `[DONE]` is complete; malformed events are skipped. With `streamRecovery:
 * 'restart'` a break sends the request again (the same target while its retries last, then the
 * fallbacks): the next chunk has `isRestart` true, `restarts` counts them, and `servedBy` /
 * `attempts` follow. Leaving the loop early (or `close()`) closes the connection.
 */
class ChatCompletionStream {
    isFallback;
    servedBy;
    attempts;
    /** How many times the stream restarted after a break. */
    restarts = 0;
    #native;
    #incomplete = false;
    #ended = false;
    #queue = Promise.resolve();
    /** @internal */
    constructor(stream, opened) {
        this.#native = stream;
        this.isFallback = opened.isFallback;
        this.servedBy = servedBy(opened);
        this.attempts = attemptsOf(opened.attempts);
    }
    /** True once the stream ended with an error before the server's end. */
    get incomplete() {
        return this.#incomplete;
    }
    /** True once the stream ended (completely or not) or was closed. */
    get ended() {
        return this.#ended;
    }
    [Symbol.asyncIterator]() {
        return this;
    }
    /** The next chunk (calls are served in order). */
    next() {
        const step = this.#queue.then(() => this.#step());
        this.#queue = step.catch(() => undefined);
        return step;
    }
    async #step() {
        if (this.#ended)
            return { done: true, value: undefined };
        const s = await this.#native.next();
        this.restarts = s.restarts;
        if (s.attempts) {
            this.isFallback = s.isFallback;
            this.servedBy = servedBy(s);
            this.attempts = attemptsOf(s.attempts);
        }
        if (s.chunk !== undefined && s.chunk !== null && !s.done) {
            const chunk = s.chunk;
            if (s.restart)
                Object.defineProperty(chunk, 'isRestart', { value: true, enumerable: false });
            return { done: false, value: chunk };
        }
        this.#ended = true;
        if (s.error) {
            this.#incomplete = true;
            throw llmError(s.error, s.attempts ?? []);
        }
        return { done: true, value: undefined };
    }
    /** Closes the connection (the loop was left early). */
    async return() {
        this.close();
        return { done: true, value: undefined };
    }
    /** Closes the connection; idempotent, never waits. */
    close() {
        this.#ended = true;
        this.#native.close();
    }
}
exports.ChatCompletionStream = ChatCompletionStream;
function llmError(info, attempts) {
    const e = info ? (0, errors_1.errorFromInfo)(info) : (0, errors_1.errorFromInfo)({ code: 'UNAVAILABLE', key: '', message: 'no target answered' });
    Object.defineProperty(e, 'attempts', { value: attemptsOf(attempts), enumerable: true });
    return e;
}
function servedBy(o) {
    const s = o.servedBy;
    return Object.freeze({ index: s?.index ?? 0, model: s?.model ?? null, baseUrl: s?.baseUrl ?? '' });
}
function attemptsOf(list) {
    return Object.freeze(list.map((a) => Object.freeze({
        target: a.target,
        model: a.model ?? null,
        errorKind: (a.errorKind ?? null),
        status: a.status ?? null,
        elapsedMs: a.elapsedMs,
        skipped: a.skipped,
        message: a.message ?? null,
        errorClass: (a.errorClass ?? null),
    })));
}
function baseUrlOf(given) {
    const url = checkString('baseURL', given) ?? process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1';
    return url.replace(/\/+$/, '');
}
function checkKnown(what, options, known) {
    if (options === null || typeof options !== 'object')
        throw new errors_1.InvalidArgumentError(`${what}: options must be an object`);
    for (const k of Object.keys(options)) {
        if (!known.includes(k))
            throw new errors_1.InvalidArgumentError(`${what}: unknown option '${k}' (known: ${known.join(', ')})`);
    }
}
function checkString(name, v) {
    if (v === undefined || v === null)
        return undefined;
    if (typeof v !== 'string')
        throw new errors_1.InvalidArgumentError(`${name} must be a string`);
    return v;
}
function checkMs(name, v) {
    if (v === undefined || v === null)
        return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new errors_1.InvalidArgumentError(`${name} must be a number of milliseconds >= 0`);
    }
    return v;
}
function checkCount(name, v) {
    if (v === undefined || v === null)
        return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        throw new errors_1.InvalidArgumentError(`${name} must be an integer >= 0`);
    return v;
}
function seconds(ms) {
    return ms === undefined ? undefined : ms / 1000;
}
/** Milliseconds as seconds; anything else as given, for core to name in its error. */
function passSeconds(ms) {
    return typeof ms === 'number' ? ms / 1000 : ms;
}
