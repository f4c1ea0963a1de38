'use strict';
// Secrets never reach a log, an error, status() or toString/inspect (issue 15, SPEC §4): a child
// process with FAILSOFT_LOG=trace, configured with the API keys, Langfuse secret key and URL
// password of tests/scenarios/secrets.json, goes through a successful read, a 401, a refused
// connection and an LLM fallback; its stderr (the log) and every text it prints pass the file's
// one assertion.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');

const { startSim } = require('./helpers/sim');

const SCENARIO = require(path.join(__dirname, '..', '..', 'tests', 'scenarios', 'secrets.json'));

/** secrets.json's assertion: no forbidden form anywhere, every useful line in the log. */
function assertNoSecretAndUseful(log, texts) {
  const everything = [log, ...texts].join('\n');
  for (const f of SCENARIO.forbidden) {
    assert.ok(!everything.includes(f.text), `the ${f.form} form of ${f.secret} leaked:\n${everything}`);
  }
  for (const line of SCENARIO.useful_lines) {
    assert.ok(log.includes(line), `the log lacks ${JSON.stringify(line)}:\n${log}`);
  }
}

// Runs in the child: the four calls, then every text the objects show, as JSON on stdout.
const CHILD = `
const util = require('node:util');
const failsoft = require(${JSON.stringify(path.join(__dirname, '..'))});
const { Client, http, langfuse, OpenAI, OpenAICompatibleClient } = failsoft;
const [scenario, simUrl, control] = JSON.parse(process.argv[1]);
const s = scenario.secrets;
const fault = (route, mode) => fetch(control + '/_sim/fault', { method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ route, mode }) }).then((r) => { if (!r.ok) throw new Error('fault ' + r.status); });
const show = (o) => [util.inspect(o, { depth: 10, showHidden: true }), String(o), JSON.stringify(o) ?? ''];
const errorTexts = (e) => [...show(e), e.message, e.stack ?? ''];
(async () => {
  const texts = [];
  const withPassword = simUrl.replace('://', '://' + scenario.url_user + ':' + s.url_password + '@');
  // A successful read, with a credential header and a password in the URL.
  const kv = new Client({ source: http(withPassword + '/kv/{key}', { headers: { Authorization: 'Bearer ' + s.api_key } }) });
  const ok = await kv.get('greeting');
  if (ok.isFallback) throw new Error('greeting was not read');
  // A 401: the simulator knows other Langfuse keys, so ours are sent and refused.
  const lf = new Client({ source: langfuse({ baseUrl: simUrl, publicKey: scenario.langfuse_public_key, secretKey: s.langfuse_secret_key }) });
  try { await lf.getPrompt(scenario.prompt); throw new Error('no 401'); } catch (e) {
    if (!String(e.message).includes('401')) throw e;
    texts.push(...errorTexts(e));
  }
  // A refused connection, served from the fallback.
  await fault('*', 'refused');
  const refused = await kv.get('settings', { fallback: 1 });
  if (!refused.isFallback) throw new Error('no fallback');
  try { await kv.get('plain'); } catch (e) { texts.push(...errorTexts(e)); }
  await fault('*', 'healthy');
  // An LLM fallback: the primary (keyed, password in its URL) answers 500, the fallback answers.
  await fault('/t/' + scenario.llm_primary, '500');
  const llm = new OpenAI({
    baseURL: withPassword + '/t/' + scenario.llm_primary + '/v1', apiKey: s.api_key, maxRetries: 0,
    fallbackClient: new OpenAICompatibleClient({ baseURL: simUrl + '/t/' + scenario.llm_fallback + '/v1', apiKey: s.fallback_api_key }),
  });
  const r = await llm.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], fallback: { model: 'm' } });
  if (!r.isFallback) throw new Error('no LLM fallback');
  for (const o of [kv, lf, llm, ok, refused, r, ok.error, refused.error]) texts.push(...show(o));
  texts.push(JSON.stringify(kv.status()), JSON.stringify(lf.status()));
  await kv.close();
  await lf.close();
  console.log(JSON.stringify(texts));
})().catch((e) => { console.error('CHILD FAILED', e); process.exit(1); });
`;

let sim;
before(async () => {
  sim = await startSim();
});
after(() => sim.stop());

test('FAILSOFT_LOG=trace: the log, errors, status() and every inspect/toString hold no secret', async () => {
  const env = { ...process.env, FAILSOFT_LOG: 'trace' };
  for (const k of Object.keys(env)) if (k.startsWith('LANGFUSE_') || k === 'OPENAI_API_KEY') delete env[k];
  const args = ['-e', CHILD, JSON.stringify([SCENARIO, sim.url, sim.control])];
  const { stdout, stderr } = await new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env, timeout: 30_000 }, (err, out, errOut) => {
      if (err) reject(new Error(`child failed: ${err.message}\n${errOut}`));
      else resolve({ stdout: out, stderr: errOut });
    });
  });
  const texts = JSON.parse(stdout.trim().split('\n').at(-1));
  assertNoSecretAndUseful(stderr, texts);
  // failsoft's own debug lines pass; the HTTP stack's (connections, wire dumps) do not.
  assert.match(stderr, /FAILSOFT \d+: DEBUG /);
  assert.ok(!stderr.includes('Call<SendRequest>') && !stderr.includes('TcpStream'), stderr);
});
