"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.call = call;
exports.compile = compile;
exports.variables = variables;
exports.compileChat = compileChat;
exports.chatVariables = chatVariables;
/**
 * Prompt templates (SPEC §6), the core's one implementation: `{{name}}` substitution and chat
 * placeholders.
 * @packageDocumentation
 */
const native_1 = require("./native");
const errors_1 = require("./errors");
/** @internal Runs a native call, rethrowing its errors as `FailsoftError`s about `key`. */
function call(key, f) {
    try {
        return f();
    }
    catch (e) {
        throw (0, errors_1.toFailsoftError)(e, key);
    }
}
/** Replaces `{{name}}` / `{{ name }}` with the variable's text; see SPEC §6. */
function compile(template, variables = {}, options = {}) {
    return call('', () => native_1.native.compileText(template, variables, options.strict ?? false));
}
/** The variable names a template uses, in first-appearance order. */
function variables(template) {
    return call('', () => native_1.native.textVariables(template));
}
/** Compiles a chat prompt: message contents and placeholders. */
function compileChat(messages, variables = {}, options = {}) {
    return call('', () => native_1.native.compileChat(messages, variables, options.placeholders ?? {}, options.strict ?? false));
}
/** The variable names a chat prompt's messages use, in first-appearance order. */
function chatVariables(messages) {
    return call('', () => native_1.native.chatVariables(messages));
}
