"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.Value = exports.variables = exports.compileChat = exports.compile = exports.chatVariables = exports.opik = exports.langfuse = exports.http = exports.file = exports.Prompt = exports.OpenAICompatibleClient = exports.OpenAI = exports.Completions = exports.ChatCompletionStream = exports.UnavailableError = exports.UnauthorizedError = exports.TimeoutError = exports.PrefetchError = exports.NotFoundError = exports.InvalidResponseError = exports.InvalidArgumentError = exports.FailsoftError = exports.Client = void 0;
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
var client_1 = require("./client");
Object.defineProperty(exports, "Client", { enumerable: true, get: function () { return client_1.Client; } });
var errors_1 = require("./errors");
Object.defineProperty(exports, "FailsoftError", { enumerable: true, get: function () { return errors_1.FailsoftError; } });
Object.defineProperty(exports, "InvalidArgumentError", { enumerable: true, get: function () { return errors_1.InvalidArgumentError; } });
Object.defineProperty(exports, "InvalidResponseError", { enumerable: true, get: function () { return errors_1.InvalidResponseError; } });
Object.defineProperty(exports, "NotFoundError", { enumerable: true, get: function () { return errors_1.NotFoundError; } });
Object.defineProperty(exports, "PrefetchError", { enumerable: true, get: function () { return errors_1.PrefetchError; } });
Object.defineProperty(exports, "TimeoutError", { enumerable: true, get: function () { return errors_1.TimeoutError; } });
Object.defineProperty(exports, "UnauthorizedError", { enumerable: true, get: function () { return errors_1.UnauthorizedError; } });
Object.defineProperty(exports, "UnavailableError", { enumerable: true, get: function () { return errors_1.UnavailableError; } });
var llm_1 = require("./llm");
Object.defineProperty(exports, "ChatCompletionStream", { enumerable: true, get: function () { return llm_1.ChatCompletionStream; } });
Object.defineProperty(exports, "Completions", { enumerable: true, get: function () { return llm_1.Completions; } });
Object.defineProperty(exports, "OpenAI", { enumerable: true, get: function () { return llm_1.OpenAI; } });
Object.defineProperty(exports, "OpenAICompatibleClient", { enumerable: true, get: function () { return llm_1.OpenAICompatibleClient; } });
var prompt_1 = require("./prompt");
Object.defineProperty(exports, "Prompt", { enumerable: true, get: function () { return prompt_1.Prompt; } });
var sources_1 = require("./sources");
Object.defineProperty(exports, "file", { enumerable: true, get: function () { return sources_1.file; } });
Object.defineProperty(exports, "http", { enumerable: true, get: function () { return sources_1.http; } });
Object.defineProperty(exports, "langfuse", { enumerable: true, get: function () { return sources_1.langfuse; } });
Object.defineProperty(exports, "opik", { enumerable: true, get: function () { return sources_1.opik; } });
var template_1 = require("./template");
Object.defineProperty(exports, "chatVariables", { enumerable: true, get: function () { return template_1.chatVariables; } });
Object.defineProperty(exports, "compile", { enumerable: true, get: function () { return template_1.compile; } });
Object.defineProperty(exports, "compileChat", { enumerable: true, get: function () { return template_1.compileChat; } });
Object.defineProperty(exports, "variables", { enumerable: true, get: function () { return template_1.variables; } });
var value_1 = require("./value");
Object.defineProperty(exports, "Value", { enumerable: true, get: function () { return value_1.Value; } });
