// Every public API of the failsoft package, type-checked by `npm run typecheck`
// (`tsc --noEmit -p examples/tsconfig.json`). Runs against a live backend too:
//   LANGFUSE_BASE_URL=… OPIK_URL_OVERRIDE=… node -r ts-node/register examples/usage.ts
import {
  ChatCompletionStream,
  chatVariables,
  Client,
  compile,
  compileChat,
  FailsoftError,
  file,
  http,
  InvalidArgumentError,
  InvalidResponseError,
  langfuse,
  NotFoundError,
  OpenAI,
  OpenAICompatibleClient,
  opik,
  PrefetchError,
  Prompt,
  TimeoutError,
  UnauthorizedError,
  UnavailableError,
  Value,
  variables,
} from 'failsoft';
import type { ChatCompletion, ChatCompletionChunk, FallbackOptions, LlmAttempt, LlmError, ServedBy } from 'failsoft';
import type {
  Change,
  ChatItem,
  ChatPrompt,
  ClientOptions,
  Config,
  ErrorCode,
  LangchainChatItem,
  LangchainOptions,
  Source,
  Status,
  TextPrompt,
  ValueSource,
} from 'failsoft';

async function prompts(): Promise<void> {
  const options: ClientOptions = {
    source: langfuse({ baseUrl: 'http://localhost:3000', publicKey: 'pk-lf-…', secretKey: 'sk-lf-…' }),
    ttlSeconds: 60,
    coldDeadlineSeconds: 2,
    snapshotDir: '/var/lib/failsoft',
  };
  const client = new Client(options);

  const p: TextPrompt = await client.getPrompt('movie-critic', {
    label: 'production',
    type: 'text',
    fallback: 'Do you like {{movie}}?',
    cacheTtlSeconds: 30,
  });
  const text: string = p.compile({ movie: 'Dune' }, { strict: true });
  const meta: [string, number, string, boolean, ValueSource, number | null, FailsoftError | null] = [
    p.name,
    p.version,
    p.type,
    p.isFallback,
    p.source,
    p.ageSeconds,
    p.error,
  ];
  const vars: readonly string[] = p.variables;
  const temperature = p.config.temperature;
  console.log(text, meta, vars, temperature, p.labels, p.tags, p.commitMessage, p.prompt.length);

  const chat: ChatPrompt = await client.getPrompt('chat-agent', {
    type: 'chat',
    version: 3,
    fallback: () => [{ role: 'system', content: 'You are {{role}}.' }],
  });
  const messages: ChatItem[] = chat.compile({ role: 'a critic' }, { placeholders: { history: [] }, strict: false });
  console.log(messages, chat.prompt[0]);

  // LangChain: PromptTemplate.fromTemplate(template) / ChatPromptTemplate.fromMessages(items).
  const template: string = p.getLangchainPrompt({ variables: { movie: 'Dune' } });
  const lc: LangchainOptions = { placeholders: { history: [{ role: 'user', content: 'Hi' }] } };
  const items: LangchainChatItem[] = chat.getLangchainPrompt(lc);
  console.log(template, items);

  const q = client.getPromptSync('movie-critic', { fallback: { prompt: 'Hi {{movie}}', config: { model: 'm' } } });
  const anyPrompt: Prompt = q;
  console.log(anyPrompt instanceof Prompt, JSON.stringify(q));

  await client.prefetch(['movie-critic', 'chat-agent@label:staging'], { deadlineSeconds: 3 }).catch((e: unknown) => {
    if (e instanceof PrefetchError) {
      for (const [key, error] of Object.entries(e.failures)) console.error(key, error.code, error.status);
      console.error(e.succeeded, e.code);
    }
  });

  const status: Status = client.status();
  console.log(status.state, status.since.toISOString(), status.lastError?.code, status.counters.freshReads, status.keys);

  const stop: () => void = client.onChange((change: Change) => {
    console.log(change.key, change.oldVersion, change.newVersion, change.value);
  });
  stop();
  console.log(client.closed);
  await client.close();
}

async function configs(): Promise<void> {
  const client = new Client({ source: opik({ projectName: 'my-agent', apiKey: undefined, workspace: 'ws', baseUrl: undefined }) });
  const cfg = await client.getOrCreateConfig({
    fallback: { model: 'gpt-4o-mini', temperature: 0.7, tools: ['search'] },
    env: 'prod',
  });
  const model: string = cfg.model;
  const t: number = cfg.temperature;
  const fallback: boolean = cfg.isFallback;
  // @ts-expect-error the config is read-only
  cfg.model = 'other';
  // @ts-expect-error only the fallback's fields exist
  console.log(cfg.missing);
  const typed: Config<{ model: string }> = await client.getOrCreateConfig({ fallback: { model: 'm' }, version: 'latest', ttlSeconds: 5, create: false });
  console.log(model, t, fallback, cfg.tools[0], typed.model);
  await client.close();
}

async function values(): Promise<void> {
  const sources: Source[] = [
    http('http://config.internal/{key}', { headers: { Authorization: 'Bearer …' }, versionField: 'rev' }),
    file('./config.json'),
  ];
  const client = new Client({
    source: sources[0],
    ttlSeconds: 0,
    requestTimeoutSeconds: 3,
    refreshWorkers: 2,
    keepOnNotFound: true,
  });
  const v: Value<{ limit: number }> = await client.get('limits', { fallback: { limit: 10 }, ttlSeconds: 60 });
  const lazy = await client.get('limits', { fallback: () => ({ limit: 5 }) });
  const now = client.getSync<number>('counter', { fallback: 0 });
  console.log(v.value.limit, v.source, v.isFallback, v.version, v.ageSeconds, v.error, lazy.value, now.value + 1);
  try {
    await client.get('nope');
  } catch (e) {
    if (e instanceof NotFoundError || e instanceof UnauthorizedError || e instanceof TimeoutError) console.error(e.key);
    if (e instanceof UnavailableError || e instanceof InvalidResponseError || e instanceof InvalidArgumentError) {
      const code: ErrorCode = e.code;
      console.error(code, e.status, e.message);
    }
  }
  await client.close();
}

function templates(): void {
  const s: string = compile('Hello {{ name }}', { name: 'Ada' }, { strict: true });
  const names: string[] = variables('{{a}} {{b}}');
  const msgs: ChatItem[] = compileChat([{ role: 'user', content: '{{q}}' }, { type: 'placeholder', name: 'h' }], { q: '?' }, { placeholders: { h: [] } });
  const used: string[] = chatVariables(msgs);
  console.log(s, names, used, new FailsoftError('TIMEOUT', 'x', { key: 'k' }).code);
}

async function llm(): Promise<void> {
  // The OpenPipe seed's shape: a primary, a fallback client, timeouts in milliseconds.
  const openai = new OpenAI({
    baseURL: 'https://api.openpipe.ai/api/v1',
    apiKey: process.env.OPENPIPE_API_KEY,
    timeout: 10 * 1000,
    fallbackClient: new OpenAICompatibleClient({ baseURL: 'https://api.openai.com/v1', apiKey: process.env.OPENAI_API_KEY }),
    deadline: 60 * 1000,
    maxRetries: 1,
    breakerThreshold: 3,
    breakerCooldown: 30 * 1000,
  });
  const messages = [{ role: 'user', content: 'Count to 10' }] as const;
  try {
    const completion: ChatCompletion = await openai.chat.completions.create(
      { model: 'openpipe:my-ft-model', messages, temperature: 0, fallback: { model: 'gpt-4-turbo', timeout: 20 * 1000 } },
      { timeout: 10 * 1000 },
    );
    const served: ServedBy = completion.servedBy;
    const attempts: readonly LlmAttempt[] = completion.attempts;
    console.log(completion.choices[0]?.message.content, completion.model, completion.usage?.total_tokens, completion.id);
    console.log(completion.isFallback, served.index, served.model, served.baseUrl, attempts.map((a) => [a.target, a.errorKind, a.status, a.elapsedMs, a.skipped]));
  } catch (e) {
    if (e instanceof FailsoftError) console.error(e.code, e.message, (e as LlmError).attempts.length);
  }
  // OpenPipe's spelling, and a list of fallbacks tried in order.
  const fallbacks: FallbackOptions[] = [{ model: 'gpt-4o-mini' }, { model: 'gpt-4o', client: new OpenAICompatibleClient({ baseURL: 'http://localhost:8000/v1' }) }];
  await openai.chat.completions.create({ model: 'openpipe:my-ft-model', messages, openpipe: { fallback: { model: 'gpt-4-turbo' } } });
  const stream: ChatCompletionStream = await openai.chat.completions.create({ model: 'openpipe:my-ft-model', messages, stream: true, fallback: fallbacks });
  try {
    for await (const chunk of stream) {
      const c: ChatCompletionChunk = chunk;
      process.stdout.write(c.choices[0]?.delta.content ?? '');
    }
  } catch (e) {
    if (e instanceof FailsoftError && stream.incomplete) console.error('incomplete:', e.message);
  }
  console.log(stream.isFallback, stream.servedBy.index, stream.attempts.length, stream.ended);
  stream.close();
}

void Promise.all([prompts(), configs(), values(), llm()]).then(templates);
