#!/usr/bin/env bash
# The Node package's checks, for CI. Needs Node >= 18, npm, cargo, and an already built
# simulator (`cargo build --release -p failsoft-sim` → target/release/failsoft-sim, or
# FAILSOFT_SIM_BIN pointing at one).
#
#   1. npm install                installs the devDependencies, builds the addon (install script;
#                                 not `npm ci`: npm drops other platforms' optional packages of
#                                 @napi-rs/cli from the lock file, and `npm ci` then refuses it)
#                                 and compiles lib/ from ts/ (prepare script)
#   2. binding.d.ts current       as napi build writes it, and ts/ compiles against it (lib/ is
#                                 not tracked; tests/dist/ checks the packed one)
#   3. tsc --noEmit               examples/ use every public API, from CommonJS and ESM
#   4. node --test test/          scenarios, templates, prompts, configs, errors, lifecycle, package
#   5. npm install <this package> from another project builds it and leaves it ready to require/import
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/.." && pwd)"
export FAILSOFT_SIM_BIN="${FAILSOFT_SIM_BIN:-$workspace/target/release/failsoft-sim}"
if [[ ! -x "$FAILSOFT_SIM_BIN" ]]; then
  echo "run-tests.sh: no simulator at $FAILSOFT_SIM_BIN (cargo build --release -p failsoft-sim)" >&2
  exit 1
fi
cd "$here"

echo "== npm install (builds the addon)"
npm install --no-audit --no-fund

echo "== binding.d.ts current"
bash scripts/generated.sh --check

echo "== tsc --noEmit examples/"
npx --no-install tsc --noEmit -p examples/tsconfig.json

echo "== node --test"
node --test test/*.test.js

echo "== npm install ./bindings-node from another project"
app="$(mktemp -d)"
trap 'rm -rf "$app"' EXIT
(
  cd "$app"
  echo '{"name": "failsoft-install-check", "version": "1.0.0", "private": true}' >package.json
  npm install --no-audit --no-fund "$here"
  node -e "const f = require('failsoft'); const c = new f.Client({ source: f.http('http://127.0.0.1:9/{key}') }); if (c.getSync('k', { fallback: 1 }).value !== 1) process.exit(1); c.close().then(() => console.log('require: ok'))"
  node --input-type=module -e "import { Client, compile } from 'failsoft'; if (compile('{{a}}', { a: 1 }) !== '1') process.exit(1); console.log('import: ok')"
)
echo "bindings-node: all checks passed"
