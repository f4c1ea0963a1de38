'use strict';
// prompt.getLangchainPrompt(): the shared vectors of tests/scenarios/langchain.json on fallback
// prompts, and @langchain/core formatting the results to the text compile() gives.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test, describe, before, after } = require('node:test');
const { ChatPromptTemplate, PromptTemplate } = require('@langchain/core/prompts');

const { Client, langfuse, InvalidArgumentError } = require('..');
const { WORKSPACE, code } = require('./helpers/sim');

const { cases } = JSON.parse(fs.readFileSync(path.join(WORKSPACE, 'tests', 'scenarios', 'langchain.json'), 'utf8'));
// LangChain's message types, read back as the roles failsoft's prompts use.
const ROLES = { human: 'user', ai: 'assistant', system: 'system' };

// Port 9 refuses connections: every prompt read serves its fallback.
let client;
before(() => {
  client = new Client({
    source: langfuse({ baseUrl: 'http://127.0.0.1:9', publicKey: 'pk-lf-test', secretKey: 'sk-lf-test' }),
    coldDeadlineSeconds: 0.5,
  });
});
after(() => client.close());

function fallbackPrompt(c) {
  const p = client.getPromptSync('lc', { type: Array.isArray(c.prompt) ? 'chat' : 'text', fallback: c.prompt });
  assert.equal(p.isFallback, true, c.name);
  return p;
}

const convert = (p, c) => p.getLangchainPrompt({ variables: c.variables, placeholders: c.placeholders });

describe('shared vectors (tests/scenarios/langchain.json)', () => {
  for (const c of cases) {
    test(c.name, () => {
      const p = fallbackPrompt(c);
      if (c.error === null) {
        assert.deepStrictEqual(convert(p, c), c.expected);
      } else {
        assert.throws(
          () => convert(p, c),
          (e) => {
            assert.ok(e instanceof InvalidArgumentError, `${c.name}: ${e}`);
            assert.equal(e.code, code(c.error.kind));
            assert.equal(e.key, 'lc');
            for (const s of c.error.contains) assert.ok(e.message.includes(s), `${c.name}: ${e.message} lacks ${s}`);
            return true;
          },
        );
      }
    });
  }
});

describe('@langchain/core formats the result to the compiled text', () => {
  for (const c of cases.filter((x) => x.format_variables)) {
    test(c.name, async () => {
      const p = fallbackPrompt(c);
      const converted = convert(p, c);
      const fmt = c.format_variables;
      const everyVariable = { ...c.variables, ...fmt };
      if (p.type === 'text') {
        const template = PromptTemplate.fromTemplate(converted);
        assert.deepStrictEqual([...template.inputVariables].sort(), Object.keys(fmt).sort());
        assert.equal(await template.format(fmt), p.compile(everyVariable, { strict: true }));
      } else {
        const formatPlaceholders = c.format_placeholders ?? {};
        const formatted = await ChatPromptTemplate.fromMessages(converted).formatMessages({
          ...fmt,
          ...formatPlaceholders,
        });
        const compiled = p.compile(everyVariable, {
          strict: true,
          placeholders: { ...c.placeholders, ...formatPlaceholders },
        });
        assert.deepStrictEqual(
          formatted.map((m) => ({ role: ROLES[m.getType()], content: m.content })),
          compiled.map((m) => ({ role: m.role, content: m.content })),
        );
      }
    });
  }
});

test('text_prompt_refuses_placeholders', () => {
  const p = client.getPromptSync('t', { fallback: '{{h}}' });
  assert.throws(() => p.getLangchainPrompt({ placeholders: { h: [] } }), /text prompt/);
  assert.equal(p.getLangchainPrompt(), '{h}');
});
