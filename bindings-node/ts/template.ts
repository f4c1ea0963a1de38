/**
 * Prompt templates (SPEC §6), the core's one implementation: `{{name}}` substitution and chat
 * placeholders.
 * @packageDocumentation
 */
import { native } from './native';
import { call } from './errors';

/** Values substituted into a template: strings as is, `null` as nothing, the rest as JSON. */
export type Variables = Readonly<Record<string, unknown>>;

/** One message of a chat prompt. */
export interface ChatMessage {
  readonly role: string;
  readonly content: unknown;
  readonly [field: string]: unknown;
}

/** A chat placeholder, replaced by the messages given for its name. */
export interface ChatPlaceholder {
  readonly type: 'placeholder';
  readonly name: string;
}

export type ChatItem = ChatMessage | ChatPlaceholder;

export interface CompileOptions {
  /** Fail with `InvalidArgumentError` naming every missing variable (default false: left as written). */
  readonly strict?: boolean;
}

export interface CompileChatOptions extends CompileOptions {
  /** Messages inserted for each `{type: "placeholder", name}` item (an empty list removes it). */
  readonly placeholders?: Readonly<Record<string, readonly ChatItem[]>>;
}

export interface LangchainOptions {
  /** Variables filled in now; the others stay LangChain variables `{name}`. */
  readonly variables?: Variables;
  /**
   * Messages expanded now for each chat placeholder (an empty list removes it; their text stays
   * literal). A placeholder not given becomes `["placeholder", "{name}"]`.
   */
  readonly placeholders?: Readonly<Record<string, readonly ChatItem[]>>;
}

/** A message template of a prompt converted for LangChain: `content` in f-string format. */
export interface LangchainMessage {
  readonly role: string;
  readonly content: string;
}

/** LangChain's shorthand for a `MessagesPlaceholder`: `["placeholder", "{name}"]`. */
export type LangchainPlaceholder = readonly ['placeholder', string];

/** One item for `ChatPromptTemplate.fromMessages`. */
export type LangchainChatItem = LangchainMessage | LangchainPlaceholder;

/** Replaces `{{name}}` / `{{ name }}` with the variable's text; see SPEC §6. */
export function compile(template: string, variables: Variables = {}, options: CompileOptions = {}): string {
  return call('', () => native.compileText(template, variables, options.strict ?? false));
}

/** The variable names a template uses, in first-appearance order. */
export function variables(template: string): string[] {
  return call('', () => native.textVariables(template));
}

/** Compiles a chat prompt: message contents and placeholders. */
export function compileChat(
  messages: readonly ChatItem[],
  variables: Variables = {},
  options: CompileChatOptions = {},
): ChatItem[] {
  return call('', () =>
    native.compileChat(messages as ChatItem[], variables, options.placeholders ?? {}, options.strict ?? false),
  );
}

/** The variable names a chat prompt's messages use, in first-appearance order. */
export function chatVariables(messages: readonly ChatItem[]): string[] {
  return call('', () => native.chatVariables(messages as ChatItem[]));
}
