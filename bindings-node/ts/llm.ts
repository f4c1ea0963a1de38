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

import { call, errorFromInfo, FailsoftError, InvalidArgumentError } from './errors';
import type { ErrorCode } from './errors';
import { native } from './native';
import type { FleetOptions } from './client';
import type { ErrorInfo } from './native';

/** Where an OpenAI-compatible API lives. */
export interface OpenAICompatibleClientOptions {
  /** The API's base URL, e.g. `https://api.openai.com/v1` (`/chat/completions` is appended). Default: `OPENAI_BASE_URL`, else `https://api.openai.com/v1`. */
  readonly baseURL?: string;
  /** Sent as `Authorization: Bearer <apiKey>`. Default: `OPENAI_API_KEY`. Never shown in errors. */
  readonly apiKey?: string;
  /** Per-attempt timeout in milliseconds when this client serves a fallback. */
  readonly timeout?: number;
}

// Keys are kept out of the objects (and so out of `util.inspect` and JSON.stringify).
const keys = new WeakMap<object, string | undefined>();

/** What `util.inspect` and `JSON.stringify` show of a client: its base URL without a password. */
function shown(client: { readonly baseURL: string; readonly timeout: number | undefined }): object {
  return { baseURL: native.redact(client.baseURL), timeout: client.timeout };
}

/** An OpenAI-compatible API serving fallbacks (OpenPipe's `OpenAICompatibleClient`). */
export class OpenAICompatibleClient {
  readonly baseURL: string;
  readonly timeout: number | undefined;

  constructor(options: OpenAICompatibleClientOptions = {}) {
    const api = call('', () => native.llmApi(toCore(options)));
    this.baseURL = api.baseUrl;
    this.timeout = options.timeout;
    keys.set(this, api.apiKey ?? undefined);
  }

  toJSON(): object {
    return shown(this);
  }

  [inspect.custom](): string {
    return `${this.constructor.name} ${inspect(shown(this))}`;
  }
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
  readonly openpipe?: { readonly fallbackClient?: OpenAICompatibleClient };
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
  /** Share the breakers with the fleet through Redis (the client's `fleet` option; default `FAILSOFT_REDIS_URL`). */
  readonly fleet?: FleetOptions;
}

/** What a stream does when it breaks after its first chunk. */
export type StreamRecovery = 'error' | 'restart';

/** Why an attempt failed, as the fallover policy sees it (SPEC §8). */
export type ErrorClass =
  | 'context_length'
  | 'content_policy'
  | 'quota'
  | 'rate_limit'
  | 'server'
  | 'timeout'
  | 'connection'
  | 'auth'
  | 'not_found'
  | 'bad_request';

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
  readonly openpipe?: { readonly fallback?: FallbackOptions | readonly FallbackOptions[]; readonly [k: string]: unknown };
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
  readonly delta: { readonly role?: string; readonly content?: string | null; readonly [field: string]: unknown };
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
export type LlmError = FailsoftError & { readonly attempts: readonly LlmAttempt[] };

type NativeFront = InstanceType<typeof native.NativeFront>;
type NativeChatStream = InstanceType<typeof native.NativeChatStream>;

/** Node's option names (camelCase, milliseconds) that core spells otherwise (snake_case, seconds). */
const SECONDS: Readonly<Record<string, string>> = {
  timeout: 'timeout',
  deadline: 'deadline_seconds',
  firstChunkTimeout: 'first_chunk_timeout_seconds',
  retryAfterCap: 'retry_after_cap_seconds',
  breakerCooldown: 'breaker_cooldown_seconds',
  streamIdleTimeout: 'stream_idle_timeout_seconds',
};

/**
 * Options as core's LLM front takes them (`failsoft::llm::Front`): names in snake_case, times in
 * seconds, an `OpenAICompatibleClient` as its `{base_url, api_key, timeout}`. Nothing is checked
 * here: core names a bad option by its path (`fallback[0].timeout`).
 */
function toCore(v: unknown): unknown {
  if (v instanceof OpenAICompatibleClient) {
    return toCore({ baseURL: v.baseURL, apiKey: keys.get(v), timeout: v.timeout });
  }
  if (Array.isArray(v)) return v.map(toCore);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    const s = SECONDS[k];
    if (s !== undefined) out[s] = typeof x === 'number' ? x / 1000 : x;
    else out[k === 'baseURL' ? 'base_url' : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = toCore(x);
  }
  return out;
}

/**
 * An OpenAI-compatible client whose chat completions fall over to fallback targets
 * (`client.chat.completions.create(...)`, as in the OpenAI SDK and OpenPipe's). Every option is
 * checked when it is made; one native client serves each distinct target list, so the targets'
 * circuit breakers are shared by its calls.
 */
export class OpenAI {
  readonly baseURL: string;
  readonly timeout: number | undefined;
  readonly chat: { readonly completions: Completions };
  /** @internal */
  declare readonly _front: NativeFront;

  constructor(options: OpenAIOptions = {}) {
    const front = call('', () => new native.NativeFront(toCore(options)));
    Object.defineProperty(this, '_front', { value: front, enumerable: false });
    const primary = front.primary();
    this.baseURL = primary.baseUrl;
    this.timeout = options.timeout;
    keys.set(this, primary.apiKey ?? undefined);
    this.chat = Object.freeze({ completions: new Completions(this) });
  }

  toJSON(): object {
    return shown(this);
  }

  [inspect.custom](): string {
    return `${this.constructor.name} ${inspect(shown(this))}`;
  }
}

/** `client.chat.completions`. */
export class Completions {
  readonly #client: OpenAI;

  /** @internal */
  constructor(client: OpenAI) {
    this.#client = client;
  }

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
  async create(body: ChatCompletionCreateParams, options: RequestOptions = {}): Promise<ChatCompletion | ChatCompletionStream> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new InvalidArgumentError('create() needs the request body ({model, messages, ...})');
    }
    const { fallback, openpipe, streamRecovery, ...request } = body;
    const callOptions = toCore({ ...options, fallback, openpipe, streamRecovery });
    const front = this.#client._front;
    const stream = request.stream === true ? call('', () => front.stream(callOptions)) : undefined;
    const outcome = await call('', () => (stream ? stream.open(request) : front.chat(request, callOptions)));
    const report = camel(outcome.report) as Partial<FallbackInfo>;
    if (outcome.error) throw llmError(outcome.error, report);
    if (stream) return new ChatCompletionStream(stream, report as Progress);
    const completion = outcome.completion as Record<string, unknown>;
    for (const [name, value] of Object.entries(report)) {
      Object.defineProperty(completion, name, { value, enumerable: false });
    }
    return completion as unknown as ChatCompletion;
  }
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
export class ChatCompletionStream implements AsyncIterableIterator<ChatCompletionChunk>, FallbackInfo {
  isFallback!: boolean;
  servedBy!: ServedBy;
  attempts!: readonly LlmAttempt[];
  /** How many times the stream restarted after a break. */
  restarts = 0;
  #native: NativeChatStream;
  #incomplete = false;
  #ended = false;
  #queue: Promise<unknown> = Promise.resolve();

  /** @internal */
  constructor(stream: NativeChatStream, opened: Progress) {
    this.#native = stream;
    this.#follow(opened);
  }

  /** Takes core's progress after a step: who streams now, every attempt, the restarts. */
  #follow(p: Progress): void {
    ({ isFallback: this.isFallback, servedBy: this.servedBy, attempts: this.attempts, restarts: this.restarts } = p);
    this.#incomplete = p.incomplete;
  }

  /** True once the stream ended with an error before the server's end. */
  get incomplete(): boolean {
    return this.#incomplete;
  }

  /** True once the stream ended (completely or not) or was closed. */
  get ended(): boolean {
    return this.#ended;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next chunk (calls are served in order). */
  next(): Promise<IteratorResult<ChatCompletionChunk, undefined>> {
    const step = this.#queue.then(() => this.#step());
    this.#queue = step.catch(() => undefined);
    return step;
  }

  async #step(): Promise<IteratorResult<ChatCompletionChunk, undefined>> {
    if (this.#ended) return { done: true, value: undefined };
    const s = await this.#native.next();
    const progress = s.progress ? (camel(s.progress) as Progress) : undefined;
    if (progress) this.#follow(progress);
    if (s.chunk !== undefined && s.chunk !== null) {
      const chunk = s.chunk as Record<string, unknown>;
      if (progress?.isRestart) Object.defineProperty(chunk, 'isRestart', { value: true, enumerable: false });
      return { done: false, value: chunk as ChatCompletionChunk };
    }
    this.#ended = true;
    if (s.error) throw llmError(s.error, progress);
    return { done: true, value: undefined };
  }

  /** Closes the connection (the loop was left early). */
  async return(): Promise<IteratorResult<ChatCompletionChunk, undefined>> {
    this.close();
    return { done: true, value: undefined };
  }

  /** Closes the connection; idempotent, never waits. */
  close(): void {
    this.#ended = true;
    this.#native.close();
  }
}

/** Core's `StreamProgress` in Node's names: who streams now, every attempt, the restarts, how it ended. */
type Progress = FallbackInfo & { readonly restarts: number; readonly isRestart: boolean; readonly incomplete: boolean };

/**
 * Core's serde JSON in Node's names, frozen: `base_url` is `baseUrl`, and an attempt's `class`
 * is `errorClass` (`class` is a reserved word, as in Python). Error kinds already are Node's codes.
 */
function camel(v: unknown): unknown {
  if (Array.isArray(v)) return Object.freeze(v.map(camel));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k === 'class' ? 'errorClass' : k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = camel(x);
  }
  return Object.freeze(out);
}

/** The error of a call, with every attempt of `report` (core's, in Node's names). */
function llmError(info: ErrorInfo, report: Partial<FallbackInfo> | undefined): LlmError {
  const e = errorFromInfo(info);
  Object.defineProperty(e, 'attempts', { value: report?.attempts ?? Object.freeze([]), enumerable: true });
  return e as LlmError;
}
