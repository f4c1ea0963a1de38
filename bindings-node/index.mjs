// The package entry for `import`: the same module as require('failsoft').
import failsoft from './index.js';

export const {
  ChatCompletionStream,
  Client,
  Completions,
  FailsoftError,
  InvalidArgumentError,
  InvalidResponseError,
  NotFoundError,
  OpenAI,
  OpenAICompatibleClient,
  PrefetchError,
  Prompt,
  TimeoutError,
  UnauthorizedError,
  UnavailableError,
  Value,
  chatVariables,
  compile,
  compileChat,
  file,
  http,
  langfuse,
  opik,
  variables,
} = failsoft;

export default failsoft;
