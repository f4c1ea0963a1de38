// failsoft vs the official @langfuse/client, in one run against the same failsoft-sim:
//   1. awaited warm getPrompt (both)           target: failsoft ≥ 2× faster
//   2. getPromptSync (failsoft only)           target: ≤ 300 ns
//   3. cold start, backend answers 500         target: failsoft's fallback ≥ 5× sooner
//   4. cold start, backend hangs               target: failsoft's fallback at its cold deadline
// Both clients run with their defaults (failsoft: 5 s cold deadline, one quick retry; Langfuse:
// 5 s timeout, 2 retries with backoff). Run: `npm install && npm run bench` (needs a built
// failsoft-sim: cargo build --release -p failsoft-sim, or FAILSOFT_SIM_BIN).
import { createRequire } from 'node:module';

// The Langfuse SDK logs every failed fetch; the cold-start rows fail on purpose. Set before the
// SDK loads (it reads the level once).
process.env.LANGFUSE_LOG_LEVEL ??= 'NONE';
const { LangfuseClient } = await import('@langfuse/client');
const { Client, langfuse } = await import('failsoft');
const require = createRequire(import.meta.url);
const { startSim } = require('../../bindings-node/test/helpers/sim.js');
const KEYS = { publicKey: 'pk-lf-test', secretKey: 'sk-lf-test' };
const NAME = 'movie-critic';
const ROUTE = `/api/public/v2/prompts/${NAME}`;
const FALLBACK = 'Do you like {{movie}}? (fallback)';

const sim = await startSim();
const failsoftClient = () => new Client({ source: langfuse({ baseUrl: sim.url, ...KEYS }) });
const langfuseClient = () => new LangfuseClient({ baseUrl: sim.url, ...KEYS });

/** ns per call of `f` (async when `awaited`) over one round of `n` calls. */
async function round(n, f, awaited) {
  const t = process.hrtime.bigint();
  if (awaited) for (let i = 0; i < n; i++) await f();
  else for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t) / n;
}

/**
 * ns per call of each of `fs`: rounds alternate between them (so load and GC hit both alike),
 * the best round of each counts; the first rounds only warm the JIT up.
 */
async function perCall(n, rounds, fs, awaited) {
  const best = fs.map(() => Infinity);
  for (let r = 0; r < rounds + 2; r++) {
    for (const [i, f] of fs.entries()) {
      const ns = await round(n, f, awaited);
      if (r >= 2) best[i] = Math.min(best[i], ns);
    }
  }
  return best;
}

/** ms until a cold client hands out the fallback, median of `trials`. */
async function coldFallback(trials, make, read) {
  const times = [];
  for (let i = 0; i < trials; i++) {
    const client = make();
    const t = performance.now();
    const p = await read(client);
    times.push(performance.now() - t);
    if (!p.isFallback) throw new Error('expected the fallback');
    if (client.close) await client.close();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const ns = (v) => (v < 1000 ? `${v.toFixed(0)} ns` : `${(v / 1000).toFixed(2)} µs`);
const ms = (v) => (v < 1000 ? `${v.toFixed(0)} ms` : `${(v / 1000).toFixed(2)} s`);

try {
  // 1-2: warm reads.
  const fs = failsoftClient();
  const lf = langfuseClient();
  const warmFs = await fs.getPrompt(NAME);
  const warmLf = await lf.prompt.get(NAME);
  if (warmFs.prompt !== warmLf.prompt) throw new Error('the two clients read different prompts');
  const N = 200_000;
  const [awaitedFs, awaitedLf] = await perCall(N, 7, [() => fs.getPrompt(NAME), () => lf.prompt.get(NAME)], true);
  const [syncFs] = await perCall(2_000_000, 5, [() => fs.getPromptSync(NAME)], false);
  await fs.close();

  // 3: a cold start while the backend answers 500.
  await sim.fault(ROUTE, '500');
  const err500Fs = await coldFallback(5, failsoftClient, (c) => c.getPrompt(NAME, { fallback: FALLBACK }));
  const err500Lf = await coldFallback(3, langfuseClient, (c) => c.prompt.get(NAME, { fallback: FALLBACK }));

  // 4: a cold start while the backend hangs.
  await sim.fault(ROUTE, 'hang');
  const hangFs = await coldFallback(1, failsoftClient, (c) => c.getPrompt(NAME, { fallback: FALLBACK }));
  const hangLf = await coldFallback(1, langfuseClient, (c) => c.prompt.get(NAME, { fallback: FALLBACK }));
  await sim.fault(ROUTE, 'healthy');

  const rows = [
    ['awaited warm getPrompt', ns(awaitedFs), ns(awaitedLf), `${(awaitedLf / awaitedFs).toFixed(1)}× faster`, '≥ 2×'],
    ['getPromptSync (warm)', ns(syncFs), 'no sync API', syncFs <= 300 ? 'within target' : 'OVER target', '≤ 300 ns'],
    ['cold start, backend 500 → fallback', ms(err500Fs), ms(err500Lf), `${(err500Lf / err500Fs).toFixed(1)}× sooner`, '≥ 5×'],
    ['cold start, backend hangs → fallback', ms(hangFs), ms(hangLf), `${(hangLf / hangFs).toFixed(1)}×`, 'at the cold deadline (5 s)'],
  ];
  const head = ['measurement', 'failsoft', '@langfuse/client 5.11.1', 'ratio', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`node ${process.version}; warm reads: best of 7 alternating rounds (${N} awaited / 2M sync reads each); cold starts: median of 5 (failsoft) and 3 (Langfuse) fresh clients, hang: 1`);
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
} finally {
  sim.stop();
}
