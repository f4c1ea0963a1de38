#!/usr/bin/env bash
# The release artifacts in dist/ (made once by scripts/dist.sh) install and work on a machine
# without a Rust toolchain, and say one version:
#
#   1. dist/ holds each artifact, named with the workspace version, and SHA256SUMS matches;
#   2. `auditwheel show` reports manylinux_2_17 for the wheel, and no shared object or program in
#      dist/ needs a glibc symbol newer than 2.17 (objdump -T);
#   3. the npm package's lib/ is what ts/ compiles to today, and its binding.d.ts the checked-in
#      one (the packed files are current; lib/ is not tracked in git);
#   then with cargo, rustc and ~/.cargo/bin off the PATH, against failsoft-sim (a cold read with
#   the backend down → the fallback with is_fallback; a warm read → the value; an LLM call whose
#   primary refuses → the fallback target):
#   4. a fresh venv: `pip install --no-index dist/*.whl`, tests/dist/smoke.py;
#   5. a fresh npm project installing both tarballs, tests/dist/smoke.js; the JS package alone
#      fails with an error naming failsoft-linux-x64-gnu, and FAILSOFT_NODE_ADDON loads one;
#   6. the C SDK unpacked anywhere: tests/dist/smoke.c built only with pkg-config (shared, and
#      static), bin/failsoft --version and a read;
#   and with cargo back:
#   7. the sdist builds and installs in a fresh venv (`pip install dist/failsoft-<v>.tar.gz`).
#
#   bash scripts/dist.sh && bash tests/dist/run-tests.sh
#
# Environment: FAILSOFT_DIST_DIR (default dist), FAILSOFT_SIM_BIN (default
# target/release/failsoft-sim), FAILSOFT_DIST_SKIP_SDIST=1 skips step 7.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$repo/tests/dist"
dist="${FAILSOFT_DIST_DIR:-$repo/dist}"
sim_bin="${FAILSOFT_SIM_BIN:-$repo/target/release/failsoft-sim}"
tools="$repo/target/dist-tools/venv/bin"
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)"
glibc_max=2.17
tag=manylinux_2_17_x86_64
[ -x "$sim_bin" ] || { echo "no simulator at $sim_bin: cargo build --release -p failsoft-sim" >&2; exit 1; }
[ -d "$dist" ] || { echo "no $dist: run scripts/dist.sh first" >&2; exit 1; }

work="$(mktemp -d)"
sim_pid=""
cleanup() {
  exec 7>&- 2>/dev/null || true
  [ -n "$sim_pid" ] && wait "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
check() {
  local name=$1 t=$SECONDS
  shift
  printf '\n--- dist: %s\n' "$name"
  # errexit holds inside the subshell only when it is not an `if` condition.
  set +e
  (
    set -e
    "$@"
  )
  local rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    echo "ok: $name ($((SECONDS - t)) s)"
  else
    failed=$((failed + 1))
    echo "FAILED: $name"
  fi
}

wheel="$dist/failsoft-$version-cp39-abi3-manylinux2014_x86_64.$tag.whl"
sdist="$dist/failsoft-$version.tar.gz"
npm_main="$dist/failsoft-$version.tgz"
npm_platform="$dist/failsoft-linux-x64-gnu-$version.tgz"
sdk_name="failsoft-$version-linux-x86_64"
sdk="$dist/$sdk_name.tar.gz"

artifacts_named_with_the_version() {
  local missing=0
  for f in "$wheel" "$sdist" "$npm_main" "$npm_platform" "$sdk" "$dist/SHA256SUMS"; do
    [ -f "$f" ] || { echo "missing $f"; missing=1; }
  done
  ls -l "$dist"
  [ $missing -eq 0 ] && (cd "$dist" && sha256sum --check --quiet SHA256SUMS)
}

wheel_is_manylinux_2_17() {
  local report
  report="$("$tools/auditwheel" show "$wheel")"
  echo "$report"
  grep -q "\"$tag\"" <<<"$report"
}

# Every ELF file inside the artifacts: its newest GLIBC_x.y symbol version must be <= 2.17.
no_glibc_symbol_newer_than_the_tag() {
  local x="$work/elf" bad=0 n=0
  mkdir -p "$x/wheel" "$x/npm" "$x/sdk"
  python3 -m zipfile -e "$wheel" "$x/wheel"
  tar -xzf "$npm_platform" -C "$x/npm"
  tar -xzf "$sdk" -C "$x/sdk"
  while IFS= read -r f; do
    n=$((n + 1))
    local newest
    newest="$(objdump -T "$f" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1 || true)"
    printf '  %-60s newest glibc symbol %s\n' "${f#"$x"/}" "${newest:-none}"
    if [ -n "$newest" ] && [ "$(printf '%s\n%s\n' "$newest" "$glibc_max" | sort -V | tail -n1)" != "$glibc_max" ]; then
      bad=1
      objdump -T "$f" | grep -E "GLIBC_$newest\b" | head -5
    fi
  done < <(find "$x" -type f \( -name '*.so' -o -name '*.node' -o -path '*/bin/*' \))
  [ $n -ge 4 ] || { echo "expected the wheel's, the addon's, libfailsoft.so and bin/failsoft: found $n"; bad=1; }
  [ $bad -eq 0 ]
}

packed_npm_files_are_current() {
  local x="$work/packed"
  mkdir -p "$x"
  tar -xzf "$npm_main" -C "$x"
  [ -x "$repo/bindings-node/node_modules/.bin/tsc" ] \
    || (cd "$repo/bindings-node" && npm install --ignore-scripts --no-save --no-audit --no-fund --silent)
  (cd "$repo/bindings-node" && node_modules/.bin/tsc -p tsconfig.json --outDir "$x/fresh-lib")
  diff -ru "$x/fresh-lib" "$x/package/lib" && diff -u "$repo/bindings-node/binding.d.ts" "$x/package/binding.d.ts" \
    && ! [ -e "$x/package/failsoft.node" ] && echo "lib/ and binding.d.ts in the package are current; no binary in it"
}

# --- without Rust ------------------------------------------------------------------------------
rustless_path=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  case "$d" in "$HOME/.cargo/bin" | */.cargo/bin | */.rustup/*) continue ;; esac
  [ -x "$d/cargo" ] || [ -x "$d/rustc" ] && continue
  rustless_path="${rustless_path:+$rustless_path:}$d"
done
without_rust() {
  env -u CARGO -u CARGO_HOME -u RUSTUP_HOME -u RUSTC -u CARGO_TARGET_DIR PATH="$rustless_path" "$@"
}
no_rust_on_the_path() {
  if without_rust bash -c 'command -v cargo || command -v rustc'; then
    echo "cargo or rustc is still reachable"
    return 1
  fi
  echo "cargo and rustc are off the PATH: $rustless_path"
}

# The simulator, until this script exits (its stdin is fd 7); the LLM primary refuses.
mkfifo "$work/sim-in"
"$sim_bin" --exit-on-stdin-eof <"$work/sim-in" >"$work/sim.json" 2>"$work/sim.log" &
sim_pid=$!
exec 7>"$work/sim-in"
for _ in $(seq 100); do [ -s "$work/sim.json" ] && break; sleep 0.05; done
sim_url="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"].rstrip("/"))' "$work/sim.json")"
sim_control="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control"].rstrip("/"))' "$work/sim.json")"
python3 - "$sim_control" <<'EOF'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/_sim/fault", method="POST", headers={"Content-Type": "application/json"},
                             data=json.dumps({"route": "/t/primary", "mode": "refused"}).encode())
urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=10).read()
EOF
dead="http://127.0.0.1:9"
smoke_args=("$version" "$dead" "$sim_url")

wheel_installs_and_works_without_rust() {
  without_rust python3 -m venv "$work/venv"
  without_rust "$work/venv/bin/pip" install --quiet --no-index --disable-pip-version-check "$wheel"
  (cd "$work" && without_rust "$work/venv/bin/python" "$here/smoke.py" "${smoke_args[@]}")
}

npm_packages_install_and_work_without_rust() {
  local app="$work/app"
  mkdir -p "$app"
  echo '{"name": "failsoft-dist-check", "version": "1.0.0", "private": true}' >"$app/package.json"
  (cd "$app" && without_rust npm install --no-audit --no-fund --silent "$npm_platform" "$npm_main")
  cp "$here/smoke.js" "$app/"  # `require('failsoft')` resolves from the script's folder
  (cd "$app" && without_rust node smoke.js "${smoke_args[@]}")
}

npm_without_the_platform_package_names_it() {
  local bare="$work/bare" out
  mkdir -p "$bare/node_modules"
  tar -xzf "$npm_main" -C "$bare/node_modules" && mv "$bare/node_modules/package" "$bare/node_modules/failsoft"
  if out="$(cd "$bare" && without_rust node -e "require('failsoft')" 2>&1)"; then
    echo "require('failsoft') worked without any addon"
    return 1
  fi
  grep -m1 'no native addon' <<<"$out"
  grep -q 'failsoft-linux-x64-gnu' <<<"$out" && grep -q 'FAILSOFT_NODE_ADDON' <<<"$out" || { echo "$out"; return 1; }
  # One variable points it at an addon built elsewhere (here: the prebuilt one).
  (cd "$bare" && FAILSOFT_NODE_ADDON="$work/app/node_modules/failsoft-linux-x64-gnu/failsoft.linux-x64-gnu.node" \
    without_rust node -e "const f = require('failsoft'); if (f.compile('{{a}}', { a: 1 }) !== '1') process.exit(1)") \
    && echo "FAILSOFT_NODE_ADDON=… loads that addon"
}

c_sdk_builds_with_pkg_config_and_works_without_rust() {
  local root="$work/sdk/$sdk_name" cc_bin
  mkdir -p "$work/sdk"
  tar -xzf "$sdk" -C "$work/sdk"
  for f in lib/libfailsoft.so lib/libfailsoft.a include/failsoft.h lib/pkgconfig/failsoft.pc \
    lib/cmake/failsoft/failsoftConfig.cmake lib/cmake/failsoft/failsoftConfigVersion.cmake bin/failsoft README.md LICENSE; do
    [ -f "$root/$f" ] || { echo "the tarball lacks $f"; return 1; }
  done
  export PKG_CONFIG_PATH="$root/lib/pkgconfig"
  [ "$(pkg-config --modversion failsoft)" = "$version" ] || { echo "failsoft.pc says $(pkg-config --modversion failsoft)"; return 1; }
  cc_bin="$(command -v cc || command -v gcc)"
  # shellcheck disable=SC2046
  without_rust "$cc_bin" -std=c11 -Wall -Werror "$here/smoke.c" $(pkg-config --cflags --libs failsoft) \
    -Wl,-rpath,"$(pkg-config --variable=libdir failsoft)" -o "$work/smoke-shared"
  # shellcheck disable=SC2046
  without_rust "$cc_bin" -std=c11 -Wall -Werror "$here/smoke.c" $(pkg-config --cflags failsoft) \
    "$(pkg-config --variable=libdir failsoft)/libfailsoft.a" $(pkg-config --static --libs-only-l failsoft | sed 's/-lfailsoft//') \
    -o "$work/smoke-static"
  without_rust "$work/smoke-shared" "${smoke_args[@]}"
  without_rust "$work/smoke-static" "${smoke_args[@]}" >/dev/null && echo "c: the static library passes too"
  [ "$(without_rust "$root/bin/failsoft" --version)" = "failsoft $version" ]
  without_rust "$root/bin/failsoft" get greeting --source http --url "$sim_url/kv/{key}" | grep -q '"hello"' \
    && echo "bin/failsoft $version reads through the cache"
}

sdist_builds_and_installs_with_cargo() {
  python3 -m venv "$work/sdist-venv"
  # The release target directory: the registry crates compiled there are reused.
  CARGO_TARGET_DIR="$repo/target" "$work/sdist-venv/bin/pip" install --quiet --disable-pip-version-check "$sdist"
  (cd "$work" && "$work/sdist-venv/bin/python" "$here/smoke.py" "${smoke_args[@]}")
}

check "artifacts named with version $version, SHA256SUMS" artifacts_named_with_the_version
check "auditwheel: $tag" wheel_is_manylinux_2_17
check "objdump -T: no glibc symbol newer than $glibc_max" no_glibc_symbol_newer_than_the_tag
check "packed npm files are current" packed_npm_files_are_current
check "no Rust on the PATH" no_rust_on_the_path
check "wheel installs and works without Rust" wheel_installs_and_works_without_rust
check "npm packages install and work without Rust" npm_packages_install_and_work_without_rust
check "npm without the platform package names it" npm_without_the_platform_package_names_it
check "C SDK builds with pkg-config and works without Rust" c_sdk_builds_with_pkg_config_and_works_without_rust
if [ "${FAILSOFT_DIST_SKIP_SDIST:-0}" != 1 ]; then
  check "sdist builds and installs with cargo" sdist_builds_and_installs_with_cargo
fi

echo
echo "dist: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
