"use strict";
/**
 * Where a client's values come from. Each helper returns the `source` object of the client
 * options every language shares (`{kind: "http", url, ...}`); an option left out takes its
 * environment variable or default in the core.
 * @packageDocumentation
 */
Object.defineProperty(exports, "__esModule", { value: true });
exports.http = http;
exports.file = file;
exports.langfuse = langfuse;
exports.opik = opik;
exports.toSpec = toSpec;
/** Any HTTP JSON endpoint: `url` contains `{key}`. */
function http(url, options = {}) {
    return { kind: 'http', url, ...options };
}
/** A local JSON file of key → value. */
function file(path) {
    return { kind: 'file', path };
}
/** Langfuse prompts; options left out take `LANGFUSE_*` environment variables. */
function langfuse(options = {}) {
    return { kind: 'langfuse', ...options };
}
/** Opik agent configs; options left out take `OPIK_*` environment variables. */
function opik(options = {}) {
    return { kind: 'opik', ...options };
}
/** `camelCase` → `snake_case`, the options' names in the core (and in C and Python). */
function snake(name) {
    return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
/**
 * @internal The options JSON of the core's `ClientSpec`: option and source names snake_cased,
 * `undefined` dropped, everything else passed as is (the core names what it does not know).
 */
function toSpec(options, nested) {
    const out = {};
    for (const [name, value] of Object.entries(options)) {
        if (value === undefined)
            continue;
        out[snake(name)] =
            nested.has(name) && value !== null && typeof value === 'object' && !Array.isArray(value)
                ? toSpec(value, NONE)
                : value;
    }
    return out;
}
const NONE = new Set();
