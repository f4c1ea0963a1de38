'use strict';
// Snapshots from `failsoft pull` (SPEC §5, issue 8): the CLI pulls a prompt into a directory; a
// fresh Node process started while the backend refuses connections serves it from there (not
// its fallback), and never serves a snapshot written for another source.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startSim, WORKSPACE } = require('./helpers/sim');

const PACKAGE = path.resolve(__dirname, '..');
const CREDENTIALS = { LANGFUSE_PUBLIC_KEY: 'pk-lf-test', LANGFUSE_SECRET_KEY: 'sk-lf-test' };
const FALLBACK = 'FALLBACK {{movie}}';

function cliBinary() {
  const bin = process.env.FAILSOFT_BIN || path.join(WORKSPACE, 'target', 'release', 'failsoft');
  if (!fs.existsSync(bin)) throw new Error(`no failsoft CLI at ${bin} (cargo build --release -p failsoft-cli, or set FAILSOFT_BIN)`);
  return bin;
}

function run(file, args, env) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** A fresh Node process reading `movie-critic` with this source and snapshot directory. */
async function readInChild(sourceOptions, snapshotDir) {
  const script = `
    const { Client, langfuse } = require(${JSON.stringify(PACKAGE)});
    (async () => {
      const client = new Client({ source: langfuse(${JSON.stringify(sourceOptions)}), snapshotDir: ${JSON.stringify(snapshotDir)}, coldDeadlineSeconds: 2 });
      const p = await client.getPrompt('movie-critic', { fallback: ${JSON.stringify(FALLBACK)} });
      console.log(JSON.stringify({ source: p.source, isFallback: p.isFallback, version: p.version, prompt: p.prompt, text: p.compile({ movie: 'Dune' }) }));
      await client.close();
    })().catch((e) => { console.error(e); process.exit(1); });`;
  // The child gets no Langfuse variables from this process: only what the test passes.
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('LANGFUSE_') || k === 'FAILSOFT_SNAPSHOT_DIR') delete env[k];
  const { stdout } = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { env, timeout: 30_000 }, (err, out, errOut) => {
      if (err) reject(new Error(`child failed: ${err.message}\n${errOut}`));
      else resolve({ stdout: out });
    });
  });
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

let sim;
let dir;
before(async () => {
  sim = await startSim();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failsoft-node-pull-'));
});
after(() => {
  sim.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a fresh process with the backend down serves what `failsoft pull` wrote, not its fallback', async () => {
  // A production version only the backend has, so the served one can only come from the pull.
  const published = await sim.call('POST', '/_sim/langfuse/prompts', {
    name: 'movie-critic',
    type: 'text',
    prompt: 'Pulled: do you like {{movie}}?',
    labels: ['production'],
  });
  const out = await run(cliBinary(), ['pull', 'movie-critic', '--source', 'langfuse', '--url', sim.url, '--out', dir], CREDENTIALS);
  assert.match(out.stdout + out.stderr, /movie-critic/);
  assert.ok(fs.readdirSync(dir).some((f) => f.endsWith('.json')), 'a snapshot file was written');

  await sim.fault('*', 'refused');
  const source = { baseUrl: sim.url, publicKey: 'pk-lf-test', secretKey: 'sk-lf-test' };
  const got = await readInChild(source, dir);
  assert.deepEqual(got, {
    source: 'snapshot',
    isFallback: false,
    version: published.version,
    prompt: 'Pulled: do you like {{movie}}?',
    text: 'Pulled: do you like Dune?',
  });
});

test('a snapshot written for another source is never served', async () => {
  await sim.fault('*', 'refused');
  // Another base URL (the same directory, the same key and credentials).
  const otherUrl = sim.url.replace('127.0.0.1', 'localhost');
  const other = await readInChild({ baseUrl: otherUrl, publicKey: 'pk-lf-test', secretKey: 'sk-lf-test' }, dir);
  assert.equal(other.source, 'fallback');
  assert.equal(other.isFallback, true);
  assert.equal(other.text, 'FALLBACK Dune');
  // Another project (public key) at the same base URL.
  const otherKey = await readInChild({ baseUrl: sim.url, publicKey: 'pk-lf-other', secretKey: 'sk-lf-test' }, dir);
  assert.equal(otherKey.source, 'fallback');
  assert.equal(otherKey.isFallback, true);
});
