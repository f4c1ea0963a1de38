'use strict';
// Smoke test of the installed npm packages (tests/dist/run-tests.sh runs it in a fresh npm
// project that installed both tarballs; no Rust).
//
//   node smoke.js VERSION DEAD_URL SIM_URL
//
// DEAD_URL: nothing listens there (the backend is down). SIM_URL: failsoft-sim with its route
// /t/primary refused, so an LLM call has to fall over to /t/fallback.
const assert = require('node:assert/strict');
const path = require('node:path');

const [version, dead, sim] = process.argv.slice(2);
const failsoft = require('failsoft');
const { Client, http, OpenAI, OpenAICompatibleClient } = failsoft;

(async () => {
  assert.equal(require('failsoft/package.json').version, version);
  // The addon is the platform package's prebuilt one, loaded by the package, not built here.
  const addon = Object.keys(require.cache).find((f) => f.endsWith('.node'));
  assert.ok(addon && addon.includes(`${path.sep}failsoft-linux-x64-gnu${path.sep}`), `addon loaded from ${addon}`);

  const down = new Client({ source: http(`${dead}/{key}`), coldDeadlineSeconds: 2 });
  const v = await down.get('greeting', { fallback: { text: 'fallback' } });
  assert.equal(v.isFallback, true);
  assert.equal(v.source, 'fallback');
  assert.deepEqual(v.value, { text: 'fallback' });
  console.log('node: cold read, backend down -> fallback (isFallback=true)');

  const up = new Client({ source: http(`${sim}/kv/{key}`) });
  const first = await up.get('greeting', { fallback: { text: 'fallback' } });
  assert.equal(first.isFallback, false);
  assert.deepEqual(first.value, { text: 'hello' });
  const t = process.hrtime.bigint();
  const warm = up.getSync('greeting', { fallback: { text: 'fallback' } });
  const tookUs = Number(process.hrtime.bigint() - t) / 1e3;
  assert.equal(warm.source, 'fresh');
  assert.equal(warm.isFallback, false);
  assert.deepEqual(warm.value, { text: 'hello' });
  console.log(`node: warm read -> ${JSON.stringify(warm.value)} in ${tookUs.toFixed(1)} us`);

  const llm = new OpenAI({
    baseURL: `${sim}/t/primary/v1`,
    apiKey: 'sk-primary-smoke',
    timeout: 5000,
    maxRetries: 0,
    fallbackClient: new OpenAICompatibleClient({ baseURL: `${sim}/t/fallback/v1`, apiKey: 'sk-fallback-smoke' }),
  });
  const r = await llm.chat.completions.create({
    model: 'primary-model',
    messages: [{ role: 'user', content: 'hi' }],
    fallback: { model: 'fallback-model' },
  });
  assert.equal(r.isFallback, true);
  assert.equal(r.servedBy.index, 1);
  assert.equal(r.choices[0].message.content, 'Hello from the simulator [target=fallback]');
  console.log(`node: LLM call fell over: ${JSON.stringify(r.choices[0].message.content)} (isFallback=true)`);
  await down.close();
  await up.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
