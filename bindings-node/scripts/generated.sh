#!/usr/bin/env bash
# The generated files of the package: binding.d.ts (by `napi build`, from the Rust signatures
# and doc comments; checked in, since ts/ compiles against it) and lib/ (by `tsc`, from ts/; not
# checked in: built by `npm install`/`npm pack`, and tests/dist/ proves a packed one current).
#
#   scripts/generated.sh          regenerate both in place
#   scripts/generated.sh --check  fail when binding.d.ts differs from what would be generated, or
#                                 ts/ does not compile against it
#
# Needs the devDependencies (`npm install`). The napi build uses its own target directory
# (target/napi-dts) so it never invalidates the addon's build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
workspace="$(cd "$here/.." && pwd)"
check=false
[[ "${1:-}" == "--check" ]] && check=true
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd "$here"
npx --no-install napi build --manifest-path Cargo.toml -p failsoft-node \
  --target-dir "${FAILSOFT_DTS_TARGET_DIR:-$workspace/target/napi-dts}" \
  --output-dir "$out" --dts binding.d.ts >"$out/napi.log" 2>&1 || { cat "$out/napi.log"; exit 1; }
# Written mode: tsc compiles ts/ against the new binding.d.ts. Check mode: against the checked-in
# one, which the diff below proves current.
$check || cp "$out/binding.d.ts" binding.d.ts
npx --no-install tsc -p tsconfig.json --outDir "$out/lib"
if $check; then
  status=0
  diff -u binding.d.ts "$out/binding.d.ts" || status=1
  if [[ $status -ne 0 ]]; then
    echo "binding.d.ts is out of date: run bindings-node/scripts/generated.sh and commit the result" >&2
    exit 1
  fi
  echo "binding.d.ts is current, and ts/ compiles against it"
else
  rm -rf lib && cp -r "$out/lib" lib
  echo "regenerated binding.d.ts and lib/"
fi
