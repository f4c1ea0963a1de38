/**
 * failsoft: remote prompts and configuration that stay available when the network or the
 * vendor fails. One Rust core does the work (the same one C and Python use), so values, flags,
 * defaults and errors mean the same in every language.
 *
 * ```ts
 * import { Client, langfuse } from 'failsoft';
 * const client = new Client({ source: langfuse() });
 * const prompt = await client.getPrompt('movie-critic', { fallback: 'Do you like {{movie}}?' });
 * prompt.compile({ movie: 'Dune' });
 * ```
 * @packageDocumentation
 */
export { Client } from './client';
export type { Change, ChatPromptFallback, ClientOptions, Config, ConfigOptions, Fallback, GetOptions, PrefetchOptions, PromptOptions, Status, TextPromptFallback, } from './client';
export { FailsoftError, InvalidArgumentError, InvalidResponseError, NotFoundError, PrefetchError, TimeoutError, UnauthorizedError, UnavailableError, } from './errors';
export type { ErrorCode, ErrorDetails } from './errors';
export { ChatCompletionStream, Completions, OpenAI, OpenAICompatibleClient } from './llm';
export type { ChatCompletion, ChatCompletionChoice, ChatCompletionChunk, ChatCompletionChunkChoice, ChatCompletionCreateParams, ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming, ChatCompletionMessage, ChatCompletionMessageParam, CompletionUsage, ErrorClass, FallbackInfo, FallbackOptions, LlmAttempt, LlmError, OpenAICompatibleClientOptions, OpenAIOptions, RequestOptions, ServedBy, StreamRecovery, } from './llm';
export { Prompt } from './prompt';
export type { ChatPrompt, PromptType, TextPrompt } from './prompt';
export { file, http, langfuse, opik } from './sources';
export type { FileSource, HttpSource, LangfuseSource, OpikSource, Source } from './sources';
export { chatVariables, compile, compileChat, variables } from './template';
export type { ChatItem, ChatMessage, ChatPlaceholder, CompileChatOptions, CompileOptions, LangchainChatItem, LangchainMessage, LangchainOptions, LangchainPlaceholder, Variables, } from './template';
export { Value } from './value';
export type { ValueSource } from './value';
