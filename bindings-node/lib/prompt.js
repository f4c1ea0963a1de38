"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.Prompt = void 0;
const native_1 = require("./native");
const template_1 = require("./template");
const value_1 = require("./value");
/** A prompt read from the source, the snapshot, or built from a fallback. */
class Prompt {
    name;
    /** The prompt's version; 0 for a fallback. */
    version;
    type;
    /** The template (text) or the messages and placeholders (chat). */
    prompt;
    config;
    labels;
    tags;
    commitMessage;
    /** `fresh`, `stale`, `snapshot` or `fallback`. */
    source;
    /** True when the caller's fallback was served. */
    isFallback;
    /** Why the prompt is not fresh from the backend, when a fetch failed. */
    error;
    #base;
    #fetchedAt;
    /** @internal */
    constructor(base, source, fetchedAt, error) {
        const d = base.data;
        this.name = d.name;
        this.version = d.version;
        this.type = d.type;
        this.prompt = d.prompt;
        this.config = d.config;
        this.labels = d.labels;
        this.tags = d.tags;
        this.commitMessage = d.commit_message ?? null;
        this.source = source;
        this.isFallback = source === 'fallback';
        this.error = error;
        this.#base = base;
        this.#fetchedAt = fetchedAt;
    }
    /** Seconds since the prompt was fetched; `null` for a fallback. */
    get ageSeconds() {
        return Number.isNaN(this.#fetchedAt) ? null : Math.max(0, (0, value_1.now)() - this.#fetchedAt);
    }
    /** The variables the prompt uses, in first-appearance order. */
    get variables() {
        const b = this.#base;
        if (b.variables === undefined) {
            const p = this.prompt;
            b.variables = Object.freeze(typeof p === 'string' ? native_1.native.textVariables(p) : native_1.native.chatVariables(p));
        }
        return b.variables;
    }
    /**
     * A text prompt: the template with `{{name}}` replaced. A chat prompt: the messages with
     * their contents compiled and placeholders expanded (`options.placeholders`). `strict` fails
     * with `InvalidArgumentError` naming everything missing.
     */
    compile(variables = {}, options = {}) {
        const strict = options.strict ?? false;
        const p = this.prompt;
        return (0, template_1.call)(this.name, () => typeof p === 'string'
            ? native_1.native.compileText(p, variables, strict)
            : native_1.native.compileChat(p, variables, options.placeholders ?? {}, strict));
    }
    /**
     * The prompt for LangChain, like Langfuse's `getLangchainPrompt`: a text prompt gives a string
     * for `PromptTemplate.fromTemplate`, a chat prompt `{role, content}` messages and
     * `["placeholder", "{name}"]` items for `ChatPromptTemplate.fromMessages`. Every `{{name}}`
     * (inner spaces allowed) becomes `{name}` unless `options.variables` fills it in, and every
     * other brace is doubled so JSON in a prompt stays text. `options.placeholders` expands
     * placeholders now. Bad input throws `InvalidArgumentError`.
     */
    getLangchainPrompt(options = {}) {
        return (0, template_1.call)(this.name, () => native_1.native.langchainPrompt(this.prompt, options.variables ?? {}, options.placeholders ?? {}));
    }
    toJSON() {
        return {
            name: this.name,
            version: this.version,
            type: this.type,
            prompt: this.prompt,
            config: this.config,
            labels: this.labels,
            tags: this.tags,
            commitMessage: this.commitMessage,
            source: this.source,
            isFallback: this.isFallback,
            ageSeconds: this.ageSeconds,
            error: this.error && { code: this.error.code, key: this.error.key, message: this.error.message },
        };
    }
}
exports.Prompt = Prompt;
