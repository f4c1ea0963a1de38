/**
 * A prompt as read (Langfuse's `TextPromptClient` / `ChatPromptClient` shape), compiled by the
 * core's template functions.
 * @packageDocumentation
 */
import { call } from './errors';
import type { FailsoftError } from './errors';
import { native } from './native';
import type {
  ChatItem,
  CompileChatOptions,
  CompileOptions,
  LangchainChatItem,
  LangchainOptions,
  Variables,
} from './template';
import { ReadResult } from './value';
import type { ValueSource } from './value';

export type PromptType = 'text' | 'chat';

/**
 * @internal The core's prompt JSON (the fields of `Prompt` that come from the source, and
 * `commit_message`), frozen, with the variables computed on first use.
 */
export interface PromptBase {
  readonly data: Pick<Prompt, 'name' | 'version' | 'type' | 'prompt' | 'config' | 'labels' | 'tags'> & {
    readonly commit_message?: string | null;
  };
  variables?: readonly string[];
}

/** A prompt read from the source, the snapshot, or built from a fallback. */
export class Prompt extends ReadResult {
  readonly name: string;
  /** The prompt's version; 0 for a fallback. */
  readonly version: number;
  readonly type: PromptType;
  /** The template (text) or the messages and placeholders (chat). */
  readonly prompt: string | readonly ChatItem[];
  readonly config: Readonly<Record<string, unknown>>;
  readonly labels: readonly string[];
  readonly tags: readonly string[];
  readonly commitMessage: string | null;
  #base: PromptBase;

  /** @internal */
  constructor(base: PromptBase, source: ValueSource, fetchedAt: number, error: FailsoftError | null) {
    super(source, fetchedAt, error);
    const d = base.data;
    this.name = d.name;
    this.version = d.version;
    this.type = d.type;
    this.prompt = d.prompt;
    this.config = d.config;
    this.labels = d.labels;
    this.tags = d.tags;
    this.commitMessage = d.commit_message ?? null;
    this.#base = base;
  }

  /** The variables the prompt uses, in first-appearance order. */
  get variables(): readonly string[] {
    const p = this.prompt;
    return (this.#base.variables ??= Object.freeze(
      typeof p === 'string' ? native.textVariables(p) : native.chatVariables(p as ChatItem[]),
    ));
  }

  /**
   * A text prompt: the template with `{{name}}` replaced. A chat prompt: the messages with
   * their contents compiled and placeholders expanded (`options.placeholders`). `strict` fails
   * with `InvalidArgumentError` naming everything missing.
   */
  compile(variables: Variables = {}, options: CompileChatOptions = {}): string | ChatItem[] {
    const strict = options.strict ?? false;
    const p = this.prompt;
    return call(this.name, () =>
      typeof p === 'string'
        ? native.compileText(p, variables, strict)
        : native.compileChat(p as ChatItem[], variables, options.placeholders ?? {}, strict),
    );
  }

  /**
   * The prompt for LangChain, like Langfuse's `getLangchainPrompt`: a text prompt gives a string
   * for `PromptTemplate.fromTemplate`, a chat prompt `{role, content}` messages and
   * `["placeholder", "{name}"]` items for `ChatPromptTemplate.fromMessages`. Every `{{name}}`
   * (inner spaces allowed) becomes `{name}` unless `options.variables` fills it in, and every
   * other brace is doubled so JSON in a prompt stays text. `options.placeholders` expands
   * placeholders now. Bad input throws `InvalidArgumentError`.
   */
  getLangchainPrompt(options: LangchainOptions = {}): string | LangchainChatItem[] {
    return call(this.name, () =>
      native.langchainPrompt(this.prompt, options.variables ?? {}, options.placeholders ?? {}),
    );
  }
}

/** A text prompt: `prompt` is the template, `compile` returns a string. */
export interface TextPrompt extends Prompt {
  readonly type: 'text';
  readonly prompt: string;
  compile(variables?: Variables, options?: CompileOptions): string;
  getLangchainPrompt(options?: LangchainOptions): string;
}

/** A chat prompt: `prompt` is the messages, `compile` returns the compiled messages. */
export interface ChatPrompt extends Prompt {
  readonly type: 'chat';
  readonly prompt: readonly ChatItem[];
  compile(variables?: Variables, options?: CompileChatOptions): ChatItem[];
  getLangchainPrompt(options?: LangchainOptions): LangchainChatItem[];
}
