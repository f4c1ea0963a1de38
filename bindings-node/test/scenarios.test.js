'use strict';
// The shared scenarios of tests/scenarios (SPEC §2-4 and §6), run exactly as
// tests/scenarios/README.md says, through the public API.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test, describe } = require('node:test');

const failsoft = require('..');
const { Client, http, FailsoftError, PrefetchError } = failsoft;
const { WORKSPACE, startSim, sleep, code } = require('./helpers/sim');

const SCENARIOS = path.join(WORKSPACE, 'tests', 'scenarios');
const cache = JSON.parse(fs.readFileSync(path.join(SCENARIOS, 'cache.json'), 'utf8'));
const templates = JSON.parse(fs.readFileSync(path.join(SCENARIOS, 'templates.json'), 'utf8'));

/** The scenario's client options (`ttl_seconds`, ...) by their Node names. */
function clientOptions(options) {
  const out = {};
  for (const [k, v] of Object.entries(options || {})) out[k.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = v;
  return out;
}

function readOptions(step) {
  return Object.prototype.hasOwnProperty.call(step, 'fallback') ? { fallback: step.fallback } : undefined;
}

/** Which of `expect`'s conditions `v` (a Value) fails; empty when all hold. */
function mismatches(v, expect) {
  const bad = [];
  if ('source' in expect && v.source !== expect.source) bad.push(`source ${v.source} != ${expect.source}`);
  if ('is_fallback' in expect && v.isFallback !== expect.is_fallback) bad.push(`isFallback ${v.isFallback}`);
  if ('version' in expect && v.version !== expect.version) bad.push(`version ${v.version} != ${expect.version}`);
  if ('value' in expect) {
    try {
      assert.deepStrictEqual(v.value, expect.value);
    } catch {
      bad.push(`value ${JSON.stringify(v.value)} != ${JSON.stringify(expect.value)}`);
    }
  }
  if ('error' in expect) {
    if (!(v.error instanceof FailsoftError)) bad.push(`no error (expected ${expect.error})`);
    else if (v.error.code !== code(expect.error)) bad.push(`error ${v.error.code} != ${code(expect.error)}`);
  }
  return bad;
}

async function runStep(sim, client, step, where) {
  switch (step.op) {
    case 'get': {
      for (let i = 0; i < (step.repeat ?? 1); i++) {
        const started = performance.now();
        let value;
        let error;
        try {
          value = await client.get(step.key, readOptions(step));
        } catch (e) {
          error = e;
        }
        const ms = performance.now() - started;
        if (step.expect_error) {
          assert.ok(error instanceof FailsoftError, `${where}: expected ${step.expect_error}, got ${error || value.source}`);
          assert.equal(error.code, code(step.expect_error), `${where}: ${error.message}`);
        } else {
          if (error) throw new Error(`${where}: read failed: ${error.stack}`);
          const bad = mismatches(value, step.expect || {});
          assert.deepEqual(bad, [], `${where} (read ${i + 1})`);
        }
        if (step.max_ms !== undefined) assert.ok(ms <= step.max_ms, `${where}: read took ${ms.toFixed(1)} ms > ${step.max_ms}`);
        if (step.min_ms !== undefined) assert.ok(ms >= step.min_ms, `${where}: read took ${ms.toFixed(1)} ms < ${step.min_ms}`);
      }
      return;
    }
    case 'poll': {
      const until = step.until;
      const deadline = performance.now() + step.timeout_ms;
      let last = [];
      for (;;) {
        last = [];
        if (step.key !== undefined) {
          try {
            last.push(...mismatches(await client.get(step.key, readOptions(step)), until));
          } catch (e) {
            last.push(`read failed: ${e.message}`);
          }
        }
        const status = client.status();
        if ('status_state' in until && status.state !== until.status_state) last.push(`state ${status.state}`);
        if ('status_error' in until && status.lastError?.code !== code(until.status_error)) {
          last.push(`status error ${status.lastError?.code}`);
        }
        if (last.length === 0) return;
        if (performance.now() > deadline) assert.fail(`${where}: not within ${step.timeout_ms} ms: ${last.join('; ')}`);
        await sleep(10);
      }
    }
    case 'fault':
      await sim.fault(step.route, step.mode, step.delay_ms);
      return;
    case 'sleep':
      await sleep(step.ms);
      return;
    case 'set_kv':
      await sim.setKv(step.key, step.value, step.version);
      return;
    case 'delete_kv':
      await sim.deleteKv(step.key);
      return;
    case 'count':
      assert.equal(await sim.count(step.path), step.expect, `${where}: requests to ${step.path}`);
      return;
    case 'status':
      assert.equal(client.status().state, step.expect.state, `${where}: status`);
      return;
    case 'prefetch': {
      if (!step.expect_error) {
        await client.prefetch(step.keys);
        return;
      }
      await assert.rejects(client.prefetch(step.keys), (e) => {
        assert.ok(e instanceof PrefetchError, `${where}: ${e}`);
        const codes = Object.values(e.failures).map((f) => f.code);
        assert.ok(codes.includes(code(step.expect_error)), `${where}: failures ${codes}`);
        assert.ok(e.message.includes(step.error_mentions ?? ''), `${where}: ${e.message}`);
        return true;
      });
      return;
    }
    default:
      throw new Error(`${where}: unknown op ${step.op}`);
  }
}

describe('cache scenarios (tests/scenarios/cache.json)', () => {
  for (const scenario of cache.scenarios) {
    test(scenario.name, async () => {
      const sim = await startSim(cache.fixture);
      const client = new Client({ source: http(`${sim.url}/kv/{key}`), ...clientOptions(scenario.client) });
      try {
        for (const [i, step] of scenario.steps.entries()) {
          await runStep(sim, client, step, `${scenario.name} step ${i + 1} (${step.op})`);
        }
      } finally {
        await client.close();
        sim.stop();
      }
    });
  }
});

describe('template vectors (tests/scenarios/templates.json)', () => {
  for (const c of templates.cases) {
    test(c.name, () => {
      const chat = Array.isArray(c.messages);
      if (c.variables_used) {
        const used = chat ? failsoft.chatVariables(c.messages) : failsoft.variables(c.template);
        assert.deepStrictEqual(used, c.variables_used, `${c.name}: variables`);
      }
      const run = () =>
        chat
          ? failsoft.compileChat(c.messages, c.variables, { placeholders: c.placeholders ?? {}, strict: c.strict })
          : failsoft.compile(c.template, c.variables, { strict: c.strict });
      if (c.error === null) {
        assert.deepStrictEqual(run(), c.expected, c.name);
      } else {
        assert.throws(run, (e) => {
          assert.ok(e instanceof FailsoftError, `${c.name}: ${e}`);
          assert.equal(e.code, code(c.error.kind), c.name);
          for (const s of c.error.contains) assert.ok(e.message.includes(s), `${c.name}: ${e.message} lacks ${s}`);
          return true;
        });
      }
    });
  }
});

describe('config scenarios (tests/scenarios/config.json)', () => {
  const config = JSON.parse(fs.readFileSync(path.join(SCENARIOS, 'config.json'), 'utf8'));
  for (const sc of config.scenarios) {
    test(sc.name, async () => {
      const sim = await startSim(config.fixture);
      for (const f of sc.faults ?? []) await sim.fault(f.route, f.mode);
      const client = new Client({ source: failsoft.opik({ baseUrl: sim.url, projectName: 'agent' }), coldDeadlineSeconds: 2 });
      try {
        const read = client.getOrCreateConfig({ fallback: sc.fallback, env: sc.env, version: sc.version });
        if (sc.expect_error) {
          await assert.rejects(read, (e) => {
            assert.ok(e instanceof FailsoftError, `${sc.name}: ${e}`);
            assert.equal(e.code, code(sc.expect_error.kind), `${sc.name}: ${e.message}`);
            if ('key' in sc.expect_error) assert.equal(e.key, sc.expect_error.key, sc.name);
            for (const s of sc.expect_error.contains ?? []) assert.ok(e.message.includes(s), `${sc.name}: ${e.message} lacks ${s}`);
            return true;
          });
          return;
        }
        const cfg = await read;
        assert.equal(cfg.isFallback, sc.expect.source === 'fallback', sc.name);
        for (const [field, want] of Object.entries(sc.expect.value)) assert.deepStrictEqual(cfg[field], want, `${sc.name}: ${field}`);
      } finally {
        await client.close();
        sim.stop();
      }
    });
  }
});
