'use strict';
// getOrCreateConfig against the simulator's Opik (SPEC §7).

const assert = require('node:assert/strict');
const { test, describe, before, after } = require('node:test');

const { Client, opik, InvalidArgumentError, InvalidResponseError, NotFoundError } = require('..');
const { startSim } = require('./helpers/sim');

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

function client(projectName = 'my-agent', options = {}) {
  return new Client({ source: opik({ baseUrl: sim.url, projectName }), coldDeadlineSeconds: 1, ...options });
}

const FALLBACK = Object.freeze({ model: 'fallback-model', max_tokens: 1, temperature: 0.5, use_tools: false });

describe('getOrCreateConfig', () => {
  test('reads_the_config_typed_like_the_fallback', async () => {
    const c = client();
    const cfg = await c.getOrCreateConfig({ fallback: FALLBACK });
    assert.deepEqual({ ...cfg }, { model: 'gpt-4o-mini', max_tokens: 256, temperature: 0.2, use_tools: true, system_prompt: cfg.system_prompt, isFallback: false });
    assert.equal(cfg.isFallback, false);
    assert.equal(cfg.system_prompt.prompt, 'You are {{role}}.');
    assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.system_prompt));
    const requests = (await sim.call('GET', '/_sim/counts')).total;
    assert.equal(await c.getOrCreateConfig({ fallback: FALLBACK }), cfg);
    // A literal per call (a new object with the same fields) is the same config.
    assert.equal(await c.getOrCreateConfig({ fallback: { ...FALLBACK } }), cfg);
    assert.equal((await sim.call('GET', '/_sim/counts')).total, requests);
    await c.close();
  });

  test('env_and_version_select_the_config', async () => {
    const c = client();
    assert.equal((await c.getOrCreateConfig({ fallback: FALLBACK, env: 'staging' })).model, 'gpt-4o');
    assert.equal((await c.getOrCreateConfig({ fallback: FALLBACK, version: 1 })).model, 'gpt-4o-mini');
    assert.equal((await c.getOrCreateConfig({ fallback: FALLBACK, version: 'latest' })).model, 'gpt-4o');
    await assert.rejects(c.getOrCreateConfig({ fallback: FALLBACK, env: 'nowhere' }), NotFoundError);
    await assert.rejects(c.getOrCreateConfig({ fallback: FALLBACK, env: 'prod', version: 'v1' }), InvalidArgumentError);
    await c.close();
  });

  test('creates_the_first_config_from_the_fallback', async () => {
    const c = client('brand-new-agent');
    const cfg = await c.getOrCreateConfig({ fallback: { model: 'm', temperature: 0.7, tools: ['a', 'b'] } });
    assert.equal(cfg.isFallback, false);
    assert.equal(cfg.model, 'm');
    assert.equal(cfg.temperature, 0.7);
    assert.deepEqual(cfg.tools, ['a', 'b']);
    const state = await sim.call('GET', '/_sim/state');
    assert.ok(state.opik.projects.some((p) => p.name === 'brand-new-agent' && p.blueprints.length === 1));
    await c.close();
  });

  test('fallback_when_the_backend_cannot_answer', async () => {
    await sim.fault('*', 'refused');
    const c = client('other-agent');
    try {
      const cfg = await c.getOrCreateConfig({ fallback: FALLBACK });
      assert.equal(cfg.isFallback, true);
      assert.equal(cfg.model, 'fallback-model');
      assert.ok(Object.isFrozen(cfg));
    } finally {
      await sim.fault('*', 'healthy');
      await c.close();
    }
  });

  test('missing_or_mistyped_fields_are_invalid_response', async () => {
    const c = client();
    await assert.rejects(c.getOrCreateConfig({ fallback: { ...FALLBACK, nope: 1 } }), (e) => {
      assert.ok(e instanceof InvalidResponseError);
      assert.match(e.message, /nope/);
      return true;
    });
    await assert.rejects(c.getOrCreateConfig({ fallback: { model: 1, use_tools: 'yes' } }), (e) => {
      assert.ok(e instanceof InvalidResponseError);
      assert.match(e.message, /model \(expected number, got string\)/);
      assert.match(e.message, /use_tools/);
      return true;
    });
    await assert.rejects(c.getOrCreateConfig({}), InvalidArgumentError);
    await assert.rejects(c.getOrCreateConfig({ fallback: [1] }), InvalidArgumentError);
    await c.close();
  });
});
