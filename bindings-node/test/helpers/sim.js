'use strict';
// Starts failsoft-sim (tests/simulator) for a test and drives its control port.
//
// The binary: $FAILSOFT_SIM_BIN, else <workspace>/target/release/failsoft-sim, else
// <workspace>/target/debug/failsoft-sim (build it with `cargo build -p failsoft-sim`).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const WORKSPACE = path.resolve(__dirname, '..', '..', '..');

function simBinary() {
  const candidates = [
    process.env.FAILSOFT_SIM_BIN,
    path.join(WORKSPACE, 'target', 'release', 'failsoft-sim'),
    path.join(WORKSPACE, 'target', 'debug', 'failsoft-sim'),
  ].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(`failsoft-sim not found (tried ${candidates.join(', ')}): run \`cargo build -p failsoft-sim\``);
  }
  return found;
}

/** One HTTP call without keep-alive (nothing left open once it answers). */
function request(method, url, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      { method, agent: false, headers: data ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          const parsed = text ? JSON.parse(text) : null;
          if (res.statusCode >= 400) reject(new Error(`${method} ${url}: ${res.statusCode} ${text}`));
          else resolve(parsed);
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** A running simulator: `url` (data port), `control`, and the control calls. */
class Sim {
  constructor(child, url, control, fixtureFile) {
    this.child = child;
    this.url = url;
    this.control = control;
    this.fixtureFile = fixtureFile;
  }

  call(method, route, body) {
    return request(method, `${this.control}${route}`, body);
  }

  fault(route, mode, delayMs) {
    const body = { route, mode };
    if (delayMs !== undefined) body.delay_ms = delayMs;
    return this.call('POST', '/_sim/fault', body);
  }

  setKv(key, value, version) {
    return this.call('POST', '/_sim/kv', version === undefined ? { key, value } : { key, value, version });
  }

  deleteKv(key) {
    return this.call('DELETE', `/_sim/kv/${encodeURIComponent(key)}`);
  }

  /** The data port's request count for `path` (compared percent-decoded). */
  async count(path) {
    const counts = await this.call('GET', '/_sim/counts');
    let n = 0;
    for (const [p, c] of Object.entries(counts.paths)) if (decodeURIComponent(p) === path) n += c;
    return n;
  }

  stop() {
    if (this.child.exitCode === null) {
      this.child.stdin.end();
      this.child.kill();
    }
    if (this.fixtureFile) fs.rmSync(this.fixtureFile, { force: true });
  }
}

/** Starts a simulator with `fixture` (an object; the built-in default fixture when omitted). */
async function startSim(fixture) {
  const args = ['--exit-on-stdin-eof'];
  let fixtureFile;
  if (fixture !== undefined) {
    fixtureFile = path.join(os.tmpdir(), `failsoft-node-fixture-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(fixtureFile, JSON.stringify(fixture));
    args.push('--fixture', fixtureFile);
  }
  const child = spawn(simBinary(), args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const line = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (l) => {
      rl.close();
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`failsoft-sim exited with ${code} before starting`)));
    child.once('error', reject);
  });
  const { url, control } = JSON.parse(line);
  return new Sim(child, url, control, fixtureFile);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The Node code of a core error kind: `NotFound` → `NOT_FOUND`. */
function code(kind) {
  return kind.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

module.exports = { WORKSPACE, startSim, request, sleep, code };
