'use strict';
// Fleet mode from Node (SPEC §10, issue 13): `fleet: {redisUrl, ...}` passes through the shared
// spec, and a client started while the backend is down serves the fleet's last known good.
// Needs the redis-server scripts/test.sh starts (FAILSOFT_TEST_REDIS_URL): fails under CI
// without it, skips otherwise.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const { Client, http, InvalidArgumentError } = require('..');
const { startSim } = require('./helpers/sim');

const REDIS = process.env.FAILSOFT_TEST_REDIS_URL;
if (!REDIS && process.env.CI) throw new Error('CI is set but FAILSOFT_TEST_REDIS_URL is not: the fleet tests need redis-server');
const skip = REDIS ? false : 'FAILSOFT_TEST_REDIS_URL not set (scripts/test.sh starts a redis-server)';

const fleet = () => ({ redisUrl: REDIS, prefix: `node-${Math.random().toString(36).slice(2, 10)}`, retentionSeconds: 60 });

test('a client started during an outage serves the fleet\'s value', { skip }, async () => {
  const sim = await startSim();
  try {
    const opts = fleet();
    const first = new Client({ source: http(`${sim.url}/kv/{key}`), fleet: opts });
    assert.equal((await first.get('greeting')).version, 1);
    await sim.fault('*', 'refused');
    const later = new Client({ source: http(`${sim.url}/kv/{key}`), fleet: opts });
    const t = Date.now();
    const v = await later.get('greeting', { fallback: { text: 'fallback' } });
    assert.ok(Date.now() - t < 100, `took ${Date.now() - t} ms`);
    assert.deepEqual([v.isFallback, v.version, v.value], [false, 1, { text: 'hello' }]);
    const status = later.status();
    assert.equal(status.fleet.store, 'up');
    assert.ok(status.fleet.counters.adopted >= 1);
    await later.invalidate('greeting');
    assert.equal(await sim.count('/kv/greeting'), 1);
    await first.close();
    await later.close();
  } finally {
    sim.stop();
  }
});

test('fleet options are checked by name and never echo the password', { skip }, async () => {
  const source = http('http://127.0.0.1:1/kv/{key}');
  assert.throws(() => new Client({ source, fleet: { redisUrl: REDIS, mode: 'sometimes' } }), InvalidArgumentError);
  assert.throws(
    () => new Client({ source, fleet: { redisUrl: 'http://app:hunter2@127.0.0.1:1' } }),
    (e) => e instanceof InvalidArgumentError && e.message.includes('fleet.redis_url') && !e.message.includes('hunter2'),
  );
  const c = new Client({ source, fleet: { redisUrl: 'redis://app:hunter2@127.0.0.1:1/0' } });
  assert.ok(!JSON.stringify(c.status()).includes('hunter2'));
  await c.close();
});
