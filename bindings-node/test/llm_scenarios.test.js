'use strict';
// tests/scenarios/llm.json (SPEC §8): LLM fallback under provider faults, run as
// tests/scenarios/README.md says, through the public OpenAI face.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test, describe } = require('node:test');

const { OpenAI, OpenAICompatibleClient, FailsoftError } = require('..');
const { WORKSPACE, startSim, code } = require('./helpers/sim');

const llm = JSON.parse(fs.readFileSync(path.join(WORKSPACE, 'tests', 'scenarios', 'llm.json'), 'utf8'));
const SLACK_MS = Number(process.env.FAILSOFT_TIMING_SLACK_MS || 0);

/** The shared option names as the Node options: camelCase, `*_seconds` as milliseconds. */
function nodeOptions(options) {
  const out = {};
  for (const [k, v] of Object.entries(options || {})) {
    const camel = k.replace(/_seconds$/, '').replace(/_([a-z])/g, (_, c) => c.toUpperCase());
    out[camel] = k.endsWith('_seconds') ? v * 1000 : v;
  }
  return out;
}

async function call(sim, scenario) {
  const key = 'sk-scenario-key';
  const out = { text: '', restarts: 0, error: null, invalid: null };
  const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], fallback: scenario.fallback ?? { model: 'm' } };
  let stream;
  try {
    const client = new OpenAI({
      baseURL: `${sim.url}/t/primary/v1`,
      apiKey: key,
      fallbackClient: new OpenAICompatibleClient({ baseURL: `${sim.url}/t/fallback/v1`, apiKey: key }),
      ...nodeOptions(scenario.options),
    });
    if (!scenario.stream) {
      const r = await client.chat.completions.create(body);
      return { ...out, text: r.choices[0].message.content, servedBy: r.servedBy.index, attempts: r.attempts };
    }
    const recovery = scenario.call?.stream_recovery;
    stream = await client.chat.completions.create({ ...body, stream: true, ...(recovery ? { streamRecovery: recovery } : {}) });
  } catch (e) {
    if (e instanceof FailsoftError && e.code === 'INVALID_ARGUMENT' && 'invalid_option' in scenario.expect) {
      return { ...out, invalid: e };
    }
    return { ...out, error: e, attempts: e.attempts ?? [] };
  }
  try {
    for await (const chunk of stream) {
      if (chunk.isRestart) out.text = '';
      out.text += chunk.choices[0]?.delta?.content ?? '';
    }
  } catch (e) {
    out.error = e;
  }
  return { ...out, servedBy: stream.servedBy.index, restarts: stream.restarts, attempts: stream.attempts };
}

describe('llm.json', () => {
  for (const scenario of llm.scenarios) {
    test(scenario.name, async () => {
      const { name, expect } = scenario;
      const sim = await startSim(llm.fixture);
      try {
        if (scenario.reply) await sim.call('POST', '/_sim/openai', { reply: scenario.reply });
        for (const f of scenario.faults || []) await sim.call('POST', '/_sim/fault', f);
        const started = performance.now();
        const o = await call(sim, scenario);
        const took = performance.now() - started;
        if ('invalid_option' in expect) {
          assert.ok(o.invalid, `${name}: no INVALID_ARGUMENT (${o.error})`);
          assert.match(o.invalid.message, new RegExp(expect.invalid_option.replace(/[[\]]/g, '\\$&')), name);
          return;
        }
        if ('max_ms' in scenario) assert.ok(took <= scenario.max_ms + SLACK_MS, `${name}: took ${took} ms`);
        if ('error_kind' in expect) {
          assert.ok(o.error, `${name}: no error`);
          assert.equal(o.error.code, code(expect.error_kind), `${name}: ${o.error.message}`);
          assert.ok(o.error.message.includes(expect.error_contains || ''), `${name}: ${o.error.message}`);
        } else {
          assert.equal(o.error, null, `${name}: ${o.error && o.error.message}`);
        }
        if ('text' in expect) assert.equal(o.text, expect.text, name);
        if ('text_starts_with' in expect) assert.ok(o.text.startsWith(expect.text_starts_with), `${name}: ${o.text}`);
        if ('text_ends_with' in expect) assert.ok(o.text.endsWith(expect.text_ends_with), `${name}: ${o.text}`);
        if ('served_by' in expect) assert.equal(o.servedBy, expect.served_by, name);
        if ('restarts' in expect) assert.equal(o.restarts, expect.restarts, name);
        if ('classes' in expect) assert.deepEqual(o.attempts.map((a) => a.errorClass), expect.classes, name);
        for (const [target, n] of Object.entries(expect.hits || {})) {
          assert.equal(await sim.count(`/t/${target}/v1/chat/completions`), n, `${name}: hits on ${target}`);
        }
      } finally {
        sim.stop();
      }
    });
  }
});
