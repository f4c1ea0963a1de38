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
import { inspect } from 'node:util';
import { FailsoftError } from './errors';
import type { ErrorCode } from './errors';
import { native } from './native';
import type { ChatOutcome } from './native';
/** Where an OpenAI-compatible API lives. */
export interface OpenAICompatibleClientOptions {
    /** The API's base URL, e.g. `https://api.openai.com/v1` (`/chat/completions` is appended). Default: `OPENAI_BASE_URL`, else `https://api.openai.com/v1`. */
    readonly baseURL?: string;
    /** Sent as `Authorization: Bearer <apiKey>`. Default: `OPENAI_API_KEY`. Never shown in errors. */
    readonly apiKey?: string;
    /** Per-attempt timeout in milliseconds when this client serves a fallback. */
    readonly timeout?: number;
}
/** An OpenAI-compatible API serving fallbacks (OpenPipe's `OpenAICompatibleClient`). */
export declare class OpenAICompatibleClient {
    readonly baseURL: string;
    readonly timeout: number | undefined;
    constructor(options?: OpenAICompatibleClientOptions);
    toJSON(): object;
    [inspect.custom](): string;
}
/** Options of {@link OpenAI}: the OpenAI SDK's names, plus failsoft's (times in milliseconds). */
export interface OpenAIOptions extends OpenAICompatibleClientOptions {
    /** The primary's per-attempt timeout in milliseconds; also the fallbacks' default. Default 60 000. */
    readonly timeout?: number;
    /** Retries on the same target before falling over (connection errors, timeouts, 408/409/429/5xx). Default 1. */
    readonly maxRetries?: number;
    /** Serves `fallback` models (default: the primary's own base URL and key). */
    readonly fallbackClient?: OpenAICompatibleClient;
    /** OpenPipe's spelling: `{ fallbackClient }`. */
    readonly openpipe?: {
        readonly fallbackClient?: OpenAICompatibleClient;
    };
    /** One deadline in milliseconds for a whole call (every attempt and fallover; a stream until its end). Default none. */
    readonly deadline?: number;
    /** For streams: the longest wait in milliseconds for the first chunk before falling over (the target's timeout if shorter). Default 15 000. */
    readonly firstChunkTimeout?: number;
    /** For streams: the longest silence in milliseconds between events after the first chunk; longer is a break. Default 30 000. */
    readonly streamIdleTimeout?: number;
    /** What a stream does when it breaks after its first chunk: `'error'` (default) or `'restart'` (also per call). */
    readonly streamRecovery?: StreamRecovery;
    /** The error classes that fall over. Default every class but `'content_policy'` and `'bad_request'`. */
    readonly falloverClasses?: readonly ErrorClass[];
    /** The longest `Retry-After` honoured, in milliseconds (a longer one falls over at once). Default 2 000. */
    readonly retryAfterCap?: number;
    /** Failed calls in a row before a target's circuit breaker opens (0: never). Default 3. */
    readonly breakerThreshold?: number;
    /** How long an open breaker skips its (target, model), in milliseconds. Default 5 000. */
    readonly breakerCooldown?: number;
    /** HTTP statuses that end a call without fallover. Default `[400, 413, 422]`. */
    readonly stopStatuses?: readonly number[];
}
/** What a stream does when it breaks after its first chunk. */
export type StreamRecovery = 'error' | 'restart';
/** Why an attempt failed, as the fallover policy sees it (SPEC §8). */
export type ErrorClass = 'context_length' | 'content_policy' | 'quota' | 'rate_limit' | 'server' | 'timeout' | 'connection' | 'auth' | 'not_found' | 'bad_request';
/** One fallback of a call (the seed's `fallback: { model, timeout }`). */
export interface FallbackOptions {
    /** The model sent to the fallback (default: the request's). */
    readonly model?: string;
    /** Its per-attempt timeout in milliseconds (default: its client's, else the `OpenAI` client's). */
    readonly timeout?: number;
    /** The API serving it (default: the `fallbackClient`, else the primary's). */
    readonly client?: OpenAICompatibleClient;
}
/** A chat message of a request. */
export interface ChatCompletionMessageParam {
    readonly role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | (string & {});
    readonly content?: unknown;
    readonly [field: string]: unknown;
}
/** `create`'s body: the OpenAI request (sent untouched but for `model`) plus the fallbacks. */
export interface ChatCompletionCreateParams {
    readonly model: string;
    readonly messages: readonly ChatCompletionMessageParam[];
    readonly stream?: boolean | null;
    /** The fallback, or several, tried in order after the primary. */
    readonly fallback?: FallbackOptions | readonly FallbackOptions[];
    /** This call's stream recovery (overrides the client's). Not sent. */
    readonly streamRecovery?: StreamRecovery;
    /** OpenPipe's spelling: `{ fallback }`. Not sent. */
    readonly openpipe?: {
        readonly fallback?: FallbackOptions | readonly FallbackOptions[];
        readonly [k: string]: unknown;
    };
    readonly [param: string]: unknown;
}
export interface ChatCompletionCreateParamsStreaming extends ChatCompletionCreateParams {
    readonly stream: true;
}
export interface ChatCompletionCreateParamsNonStreaming extends ChatCompletionCreateParams {
    readonly stream?: false | null;
}
/** `create`'s second argument. */
export interface RequestOptions {
    /** The primary's per-attempt timeout for this call, in milliseconds. */
    readonly timeout?: number;
    /** Retries on the same target for this call. */
    readonly maxRetries?: number;
}
/** The target that answered. */
export interface ServedBy {
    /** Its index in the target list: 0 the primary, 1 the first fallback, ... */
    readonly index: number;
    /** The model sent to it. */
    readonly model: string | null;
    /** Its base URL, without credentials or query string. */
    readonly baseUrl: string;
}
/** One attempt of a call (or a target skipped by its open circuit breaker), in order. */
export interface LlmAttempt {
    readonly target: number;
    readonly model: string | null;
    /** The error's code; null for the attempt that succeeded. */
    readonly errorKind: ErrorCode | null;
    /** The HTTP status, when an answer arrived. */
    readonly status: number | null;
    readonly elapsedMs: number;
    /** The target's breaker was open: no request was made. */
    readonly skipped: boolean;
    /** What went wrong (never a secret); null for the attempt that succeeded. */
    readonly message: string | null;
    /** Why it failed; null for the attempt that succeeded or a skipped target. */
    readonly errorClass: ErrorClass | null;
}
/** Who served a call, and how. */
export interface FallbackInfo {
    /** True when a target other than the primary answered. */
    readonly isFallback: boolean;
    readonly servedBy: ServedBy;
    /** Every attempt, the successful one last. */
    readonly attempts: readonly LlmAttempt[];
}
export interface CompletionUsage {
    readonly prompt_tokens: number;
    readonly completion_tokens: number;
    readonly total_tokens: number;
    readonly [field: string]: unknown;
}
export interface ChatCompletionMessage {
    readonly role: 'assistant';
    readonly content: string | null;
    readonly refusal?: string | null;
    readonly tool_calls?: readonly unknown[];
    readonly [field: string]: unknown;
}
export interface ChatCompletionChoice {
    readonly index: number;
    readonly message: ChatCompletionMessage;
    readonly finish_reason: string | null;
    readonly logprobs?: unknown;
}
/**
 * A completion as the server sent it (the OpenAI SDK's shape), plus `isFallback`, `servedBy`
 * and `attempts` (not enumerable: `JSON.stringify` gives the server's JSON).
 */
export interface ChatCompletion extends FallbackInfo {
    readonly id: string;
    readonly object: 'chat.completion';
    readonly created: number;
    readonly model: string;
    readonly choices: readonly ChatCompletionChoice[];
    readonly usage?: CompletionUsage;
    readonly system_fingerprint?: string | null;
    readonly [field: string]: unknown;
}
export interface ChatCompletionChunkChoice {
    readonly index: number;
    readonly delta: {
        readonly role?: string;
        readonly content?: string | null;
        readonly [field: string]: unknown;
    };
    readonly finish_reason: string | null;
    readonly logprobs?: unknown;
}
/** One chunk of a stream, as the server sent it. */
export interface ChatCompletionChunk {
    readonly id: string;
    readonly object: 'chat.completion.chunk';
    readonly created: number;
    readonly model: string;
    readonly choices: readonly ChatCompletionChunkChoice[];
    readonly usage?: CompletionUsage | null;
    /** True (not enumerable) on the first chunk of a restarted attempt: discard the text shown so far. */
    readonly isRestart?: boolean;
    readonly [field: string]: unknown;
}
/** A `FailsoftError` of a call that no target answered, with every attempt. */
export type LlmError = FailsoftError & {
    readonly attempts: readonly LlmAttempt[];
};
type NativeLlm = InstanceType<typeof native.NativeLlm>;
type NativeChatStream = InstanceType<typeof native.NativeChatStream>;
/**
 * An OpenAI-compatible client whose chat completions fall over to fallback targets
 * (`client.chat.completions.create(...)`, as in the OpenAI SDK and OpenPipe's).
 */
export declare class OpenAI {
    #private;
    readonly baseURL: string;
    readonly timeout: number | undefined;
    readonly chat: {
        readonly completions: Completions;
    };
    constructor(options?: OpenAIOptions);
    toJSON(): object;
    [inspect.custom](): string;
    /** @internal The native client for these targets (one per distinct list, sharing its breakers). */
    _native(params: ChatCompletionCreateParams, requestOptions: RequestOptions): NativeLlm;
}
/** `client.chat.completions`. */
export declare class Completions {
    #private;
    /** @internal */
    constructor(client: OpenAI);
    /**
     * A chat completion from the first target that answers: the primary, then each fallback.
     * Falls over on connection errors, timeouts, 401/403/404, 408/409/429 and 5xx; never on
     * 400/413/422. Rejects with the last error (a `FailsoftError` with `attempts`) when no target
     * answered. With `stream: true`, settles once the first chunk arrived (the last point where a
     * stream can fall over) with a {@link ChatCompletionStream}.
     */
    create(body: ChatCompletionCreateParamsStreaming, options?: RequestOptions): Promise<ChatCompletionStream>;
    create(body: ChatCompletionCreateParamsNonStreaming, options?: RequestOptions): Promise<ChatCompletion>;
    create(body: ChatCompletionCreateParams, options?: RequestOptions): Promise<ChatCompletion | ChatCompletionStream>;
}
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
export declare class ChatCompletionStream implements AsyncIterableIterator<ChatCompletionChunk>, FallbackInfo {
    #private;
    isFallback: boolean;
    servedBy: ServedBy;
    attempts: readonly LlmAttempt[];
    /** How many times the stream restarted after a break. */
    restarts: number;
    /** @internal */
    constructor(stream: NativeChatStream, opened: ChatOutcome);
    /** True once the stream ended with an error before the server's end. */
    get incomplete(): boolean;
    /** True once the stream ended (completely or not) or was closed. */
    get ended(): boolean;
    [Symbol.asyncIterator](): this;
    /** The next chunk (calls are served in order). */
    next(): Promise<IteratorResult<ChatCompletionChunk, undefined>>;
    /** Closes the connection (the loop was left early). */
    return(): Promise<IteratorResult<ChatCompletionChunk, undefined>>;
    /** Closes the connection; idempotent, never waits. */
    close(): void;
}
export {};
