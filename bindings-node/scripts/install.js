#!/usr/bin/env node
// Builds the package from the repository it lives in: the native addon `failsoft.node` (cargo;
// the `install` script) and lib/ (tsc over ts/, not tracked in git; `--lib`, the `prepare` script).
//
// npm runs both for `npm install` inside bindings-node/ and for `npm install <path>/bindings-node`
// from another project (a linked folder), and `prepare` before `npm pack`. It needs Node and
// cargo; for a linked folder npm installs none of the package's devDependencies, so TypeScript is
// fetched into bindings-node/node_modules first. The release packages (scripts/dist.sh) carry no
// script: their addon comes prebuilt in the platform package.
//
//   node scripts/install.js --lib only compile lib/
//   FAILSOFT_NODE_PROFILE=debug   build a debug addon (faster to build, slower to run)
//   FAILSOFT_NODE_SKIP_BUILD=1    do nothing (an addon built some other way is used)
//   CARGO=/path/to/cargo          the cargo to run; CARGO_TARGET_DIR is honoured
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');
const workspace = path.resolve(pkgDir, '..');
const addon = path.join(pkgDir, 'failsoft.node');

function fail(message) {
  console.error(`failsoft: ${message}`);
  process.exit(1);
}

function findCargo() {
  if (process.env.CARGO) return process.env.CARGO;
  const probe = spawnSync('cargo', ['--version'], { stdio: 'ignore' });
  if (!probe.error && probe.status === 0) return 'cargo';
  const home = path.join(os.homedir(), '.cargo', 'bin', process.platform === 'win32' ? 'cargo.exe' : 'cargo');
  return fs.existsSync(home) ? home : null;
}

/** Runs `command` to its end (failing the install when it fails); its result. */
function run(command, args, options = {}) {
  const shell = process.platform === 'win32';
  const r = spawnSync(command, args, { cwd: pkgDir, stdio: ['ignore', 'inherit', 'inherit'], shell, ...options });
  if (r.error) fail(`could not run ${command}: ${r.error.message}`);
  if (r.status !== 0) fail(`${command} ${args.join(' ')} failed (exit ${r.status})`);
  return r;
}

/** lib/ from ts/ with tsc, fetching TypeScript when npm did not install the devDependencies. */
function buildLib() {
  const tsc = path.join(pkgDir, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc)) {
    console.error('failsoft: installing TypeScript to compile lib/ from ts/');
    run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-save']);
  }
  // From scratch, so a file deleted from ts/ does not live on in lib/.
  fs.rmSync(path.join(pkgDir, 'lib'), { recursive: true, force: true });
  run(process.execPath, [tsc, '-p', 'tsconfig.json']);
  console.error('failsoft: compiled lib/ from ts/');
}

function main() {
  // `prepare` (npm install here, npm pack, and a linked install from another project, where npm
  // installs no devDependencies): only lib/.
  if (process.argv.includes('--lib')) return buildLib();
  if (process.env.FAILSOFT_NODE_SKIP_BUILD) return;
  const manifest = path.join(workspace, 'Cargo.toml');
  const inWorkspace =
    fs.existsSync(manifest) && fs.existsSync(path.join(pkgDir, 'Cargo.toml')) && fs.existsSync(path.join(workspace, 'core'));
  if (!inWorkspace) {
    if (fs.existsSync(addon)) return;
    fail(`no Rust workspace around ${pkgDir} to build the addon from, and no failsoft.node present`);
  }
  const cargo = findCargo();
  if (!cargo) fail('cargo was not found (install Rust from https://rustup.rs, or set CARGO)');
  const release = (process.env.FAILSOFT_NODE_PROFILE || 'release') !== 'debug';
  const args = ['build', '-p', 'failsoft-node', '--message-format=json-render-diagnostics'];
  if (release) args.push('--release');
  console.error(`failsoft: building the native addon (cargo ${args.join(' ')})`);
  // The JSON messages on stdout name the library cargo built, wherever its target directory is.
  const piped = { cwd: workspace, stdio: ['ignore', 'pipe', 'inherit'], shell: false, encoding: 'utf8', maxBuffer: 2 ** 28 };
  let built = null;
  for (const line of run(cargo, args, piped).stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (msg.reason === 'compiler-artifact' && msg.target && msg.target.name === 'failsoft_node') {
      built = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f)) || built;
    }
  }
  if (!built) fail('cargo did not report the failsoft_node library');
  // Copy then rename: a process that has the old addon loaded keeps a valid file.
  const tmp = `${addon}.tmp${process.pid}`;
  fs.copyFileSync(built, tmp);
  fs.renameSync(tmp, addon);
  console.error(`failsoft: ${path.relative(process.cwd(), addon) || addon} is ready`);
}

main();
