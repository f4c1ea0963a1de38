'use strict';
// getPrompt / getPromptSync against the simulator's Langfuse (SPEC §2, §5, §6).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test, describe, before, after } = require('node:test');

const { Client, http, langfuse, Prompt, FailsoftError, InvalidArgumentError, NotFoundError, UnauthorizedError } = require('..');
const { startSim, sleep } = require('./helpers/sim');

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

function client(options = {}) {
  return new Client({
    source: langfuse({ baseUrl: sim.url, publicKey: 'pk-lf-test', secretKey: 'sk-lf-test' }),
    ttlSeconds: 60,
    coldDeadlineSeconds: 1,
    ...options,
  });
}

describe('getPrompt', () => {
  test('text_prompt_fields_and_compile', async () => {
    const c = client();
    const p = await c.getPrompt('movie-critic');
    assert.ok(p instanceof Prompt);
    assert.equal(p.name, 'movie-critic');
    assert.equal(p.version, 1);
    assert.equal(p.type, 'text');
    assert.equal(p.prompt, 'Do you like {{movie}}?');
    assert.deepEqual(p.config, { temperature: 0.7 });
    assert.deepEqual(p.labels, ['production']);
    assert.deepEqual(p.tags, ['movies']);
    assert.equal(p.commitMessage, null);
    assert.equal(p.source, 'fresh');
    assert.equal(p.isFallback, false);
    assert.equal(p.error, null);
    assert.ok(p.ageSeconds >= 0 && p.ageSeconds < 5);
    assert.deepEqual(p.variables, ['movie']);
    assert.equal(p.compile({ movie: 'Dune' }), 'Do you like Dune?');
    assert.equal(p.compile(), 'Do you like {{movie}}?');
    assert.throws(() => p.compile({}, { strict: true }), (e) => e instanceof InvalidArgumentError && /movie/.test(e.message));
    assert.ok(Object.isFrozen(p.config) && Object.isFrozen(p.labels));
    await c.close();
  });

  test('to_json_keeps_the_key_order_of_prompts_and_values', async () => {
    const c = client();
    const p = await c.getPrompt('movie-critic');
    const promptKeys = ['name', 'version', 'type', 'prompt', 'config', 'labels', 'tags', 'commitMessage'];
    assert.deepEqual(Object.keys(p.toJSON()), [...promptKeys, 'source', 'isFallback', 'ageSeconds', 'error']);
    const down = new Client({ source: http('http://127.0.0.1:1/{key}') });
    const v = down.getSync('k', { fallback: 1 });
    assert.deepEqual(Object.keys(v.toJSON()), ['value', 'source', 'isFallback', 'version', 'ageSeconds', 'error']);
    assert.deepEqual(Object.keys(v.toJSON().error), ['code', 'key', 'message']);
    await Promise.all([c.close(), down.close()]);
  });

  test('label_and_version_select_the_prompt', async () => {
    const c = client();
    const staging = await c.getPrompt('movie-critic', { label: 'staging' });
    assert.equal(staging.version, 2);
    assert.deepEqual(staging.variables, ['criticLevel', 'movie']);
    const v1 = await c.getPrompt('movie-critic', { version: 1 });
    assert.equal(v1.version, 1);
    const prod = await c.getPrompt('movie-critic', { label: 'production' });
    assert.equal(prod.version, 1);
    await assert.rejects(c.getPrompt('movie-critic', { label: 'staging', version: 1 }), InvalidArgumentError);
    await assert.rejects(c.getPrompt('nope'), NotFoundError);
    await c.close();
  });

  test('chat_prompt_compiles_with_placeholders', async () => {
    const c = client();
    const p = await c.getPrompt('chat-agent', { type: 'chat' });
    assert.equal(p.type, 'chat');
    assert.deepEqual(p.variables, ['role', 'question']);
    const messages = p.compile(
      { role: 'a critic', question: 'Dune?' },
      { placeholders: { history: [{ role: 'user', content: 'hi' }] } },
    );
    assert.deepEqual(
      messages.map((m) => [m.role, m.content]),
      [
        ['system', 'You are a critic.'],
        ['user', 'hi'],
        ['user', 'Dune?'],
      ],
    );
    assert.throws(() => p.compile({ role: 'x', question: 'y' }, { strict: true }), /history/);
    await c.close();
  });

  test('warm_reads_return_the_same_object_without_io', async () => {
    const c = client();
    const first = await c.getPrompt('movie-critic');
    const before = await sim.count('/api/public/v2/prompts/movie-critic');
    for (let i = 0; i < 100; i++) {
      assert.equal(await c.getPrompt('movie-critic'), first);
      assert.equal(c.getPromptSync('movie-critic'), first);
    }
    assert.equal(await sim.count('/api/public/v2/prompts/movie-critic'), before);
    await c.close();
  });

  test('fallback_served_when_backend_down_then_real_prompt', async () => {
    await sim.fault('/api/public/v2/prompts/chat-agent', 'refused');
    const c = client();
    try {
      const fb = [{ role: 'system', content: 'You are {{role}} (fallback).' }];
      const p = await c.getPrompt('chat-agent', { type: 'chat', fallback: fb });
      assert.equal(p.isFallback, true);
      assert.equal(p.source, 'fallback');
      assert.equal(p.version, 0);
      assert.equal(p.ageSeconds, null);
      assert.ok(p.error instanceof FailsoftError);
      assert.equal(p.error.code, 'UNAVAILABLE');
      assert.deepEqual(p.compile({ role: 'R' }), [{ role: 'system', content: 'You are R (fallback).' }]);
      await sim.fault('/api/public/v2/prompts/chat-agent', 'healthy');
      let q;
      for (let i = 0; i < 300; i++) {
        q = await c.getPrompt('chat-agent', { type: 'chat', fallback: fb });
        if (!q.isFallback) break;
        await sleep(10);
      }
      assert.equal(q.isFallback, false);
      assert.equal(q.version, 1);
    } finally {
      await sim.fault('/api/public/v2/prompts/chat-agent', 'healthy');
      await c.close();
    }
  });

  test('fallback_function_called_only_when_needed', async () => {
    const c = client();
    let calls = 0;
    const fallback = () => {
      calls += 1;
      return 'fallback {{movie}}';
    };
    const p = await c.getPrompt('movie-critic', { fallback });
    assert.equal(p.isFallback, false);
    assert.equal(calls, 0);
    await sim.fault('/api/public/v2/prompts/folder', 'hang');
    try {
      const q = c.getPromptSync('folder/x y ü', { fallback });
      assert.equal(q.isFallback, true);
      assert.equal(calls, 1);
      assert.equal(q.compile({ movie: 'M' }), 'fallback M');
    } finally {
      await sim.fault('/api/public/v2/prompts/folder', 'healthy');
      await c.close();
    }
  });

  test('bad_fallback_value_rejects_even_when_the_backend_answers', async () => {
    const c = client();
    await assert.rejects(c.getPrompt('movie-critic', { fallback: [{ role: 'user', content: 'x' }] }), InvalidArgumentError);
    await assert.rejects(c.getPrompt('movie-critic', { type: 'chat', fallback: 'text' }), InvalidArgumentError);
    await assert.rejects(c.getPrompt('movie-critic', { fallback: 3 }), InvalidArgumentError);
    await c.close();
  });

  test('get_prompt_sync_never_waits', async () => {
    await sim.fault('/api/public/v2/prompts/movie-critic', 'hang');
    const c = client({ coldDeadlineSeconds: 5 });
    try {
      const started = performance.now();
      const p = c.getPromptSync('movie-critic', { fallback: 'fb {{movie}}' });
      assert.ok(performance.now() - started < 50);
      assert.equal(p.isFallback, true);
      assert.equal(p.error.code, 'TIMEOUT');
      assert.throws(() => c.getPromptSync('movie-critic', { label: 'staging' }), FailsoftError);
    } finally {
      await sim.fault('/api/public/v2/prompts/movie-critic', 'healthy');
      await c.close();
    }
  });

  test('wrong_credentials_are_unauthorized_and_never_leak_the_secret', async () => {
    const c = new Client({ source: langfuse({ baseUrl: sim.url, publicKey: 'pk-lf-test', secretKey: 'sk-wrong-secret' }) });
    await assert.rejects(c.getPrompt('movie-critic'), (e) => {
      assert.ok(e instanceof UnauthorizedError);
      assert.equal(e.status, 401);
      assert.ok(!e.message.includes('sk-wrong-secret'));
      return true;
    });
    await c.close();
  });

  test('snapshot_serves_a_new_process_while_the_backend_is_down', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failsoft-node-snap-'));
    try {
      const a = client({ snapshotDir: dir });
      const fresh = await a.getPrompt('movie-critic');
      await a.close();
      await sim.fault('*', 'refused');
      const b = client({ snapshotDir: dir });
      const p = await b.getPrompt('movie-critic', { fallback: 'never used' });
      assert.equal(p.source, 'snapshot');
      assert.equal(p.isFallback, false);
      assert.equal(p.prompt, fresh.prompt);
      assert.ok(p.ageSeconds >= 0);
      await b.close();
    } finally {
      await sim.fault('*', 'healthy');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('prefetch_warms_prompts', async () => {
    const c = client();
    await c.prefetch(['movie-critic', 'movie-critic@label:staging']);
    const n = await sim.count('/api/public/v2/prompts/movie-critic');
    assert.equal((await c.getPrompt('movie-critic', { label: 'staging' })).version, 2);
    assert.equal(c.getPromptSync('movie-critic').source, 'fresh');
    assert.equal(await sim.count('/api/public/v2/prompts/movie-critic'), n);
    await c.close();
  });

  test('on_change_delivers_new_versions_on_the_js_thread', async () => {
    const c = client({ ttlSeconds: 0.2 });
    const seen = [];
    const stop = c.onChange((change) => {
      seen.push(change);
      throw new Error('a listener that throws is ignored');
    });
    await sim.call('POST', '/_sim/langfuse/prompts', { name: 'hot', type: 'text', prompt: 'v1', labels: ['production'] });
    assert.equal((await c.getPrompt('hot')).prompt, 'v1');
    await sim.call('POST', '/_sim/langfuse/prompts', { name: 'hot', type: 'text', prompt: 'v2', labels: ['production'] });
    for (let i = 0; i < 300 && seen.length === 0; i++) {
      c.getPromptSync('hot');
      await sleep(10);
    }
    assert.equal(seen.length, 1);
    assert.equal(seen[0].key, 'hot');
    assert.equal(seen[0].oldVersion, 1);
    assert.equal(seen[0].newVersion, 2);
    assert.equal(seen[0].value.prompt, 'v2');
    assert.equal(c.getPromptSync('hot').prompt, 'v2');
    stop();
    await c.close();
  });
});
