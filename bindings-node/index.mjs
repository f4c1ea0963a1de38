// The package entry for `import`: the same module as require('failsoft').
import failsoft from './index.js';

export const {
  Client,
  FailsoftError,
  InvalidArgumentError,
  InvalidResponseError,
  NotFoundError,
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
