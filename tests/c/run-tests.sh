#!/usr/bin/env bash
# The C ABI's test suite, given a release build of the library and the simulator:
#
#   cargo build --release -p failsoft-ffi -p failsoft-sim
#   bash tests/c/run-tests.sh
#
# 1. checks include/failsoft.h is what ffi/build.rs generates (ffi/check-header.sh);
# 2. installs the library into a scratch prefix (ffi/install.sh) and builds everything below
#    against it through find_package(failsoft) and pkg-config, as a user's project would;
# 3. the header compiled as C11 and C++17 with -Werror -pedantic, linked and run;
# 4. examples/c/agent.c and examples/c/chat.c built with their one-line `cc` + pkg-config
#    command, and run against failsoft-sim (chat: a refused primary falls over, plain and streamed);
# 5. the GoogleTest suite (shared scenarios, template vectors, ABI conventions, behaviour
#    against failsoft-sim, LLM calls with fallback) under AddressSanitizer + LeakSanitizer +
#    UBSan: any report fails;
# 6. a canary proving LeakSanitizer sees allocations made inside the Rust library;
# 7. RSS growth over 1,000,000 warm failsoft_get/failsoft_value_free (< 1 MiB);
# 8. the warm-read benchmark (printed).
#
# Environment: CARGO_TARGET_DIR (default <repo>/target), FAILSOFT_SIM_BIN (default
# <target>/release/failsoft-sim), FAILSOFT_C_BUILD_DIR (default <target>/c-tests),
# FAILSOFT_C_SKIP_HEADER_CHECK=1 to skip step 1 (e.g. outside a git checkout).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
case "$target_dir" in /*) ;; *) target_dir="$repo/$target_dir" ;; esac
lib_dir="$target_dir/release"
build_dir="${FAILSOFT_C_BUILD_DIR:-$target_dir/c-tests}"
export FAILSOFT_SIM_BIN="${FAILSOFT_SIM_BIN:-$lib_dir/failsoft-sim}"
passed=0
failed=0
step() { printf '\n--- c: %s\n' "$*"; }
ok() { passed=$((passed + 1)); echo "ok: $*"; }
ko() { failed=$((failed + 1)); echo "FAILED: $*"; }

# --- tools -------------------------------------------------------------------------------------
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v g++ >/dev/null || missing+=(g++)
command -v pkg-config >/dev/null || missing+=(pkg-config)
[ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
[ -f /usr/include/nlohmann/json.hpp ] || missing+=(nlohmann-json3-dev)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

for f in "$lib_dir/libfailsoft.a" "$lib_dir/libfailsoft.so" "$FAILSOFT_SIM_BIN"; do
  [ -f "$f" ] || { echo "missing $f: run cargo build --release -p failsoft-ffi -p failsoft-sim" >&2; exit 1; }
done

# --- 1. header ---------------------------------------------------------------------------------
if [ "${FAILSOFT_C_SKIP_HEADER_CHECK:-0}" != 1 ]; then
  step "include/failsoft.h is current"
  if bash "$repo/ffi/check-header.sh"; then ok "header current"; else ko "header current"; fi
fi

# --- 2. install + build ------------------------------------------------------------------------
step "install into a scratch prefix, configure and build the tests"
prefix="$build_dir/prefix"
rm -rf "$prefix"
bash "$repo/ffi/install.sh" --prefix "$prefix" --target-dir "$target_dir" --profile release
cmake -S "$repo/tests/c" -B "$build_dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$prefix" -DFAILSOFT_SANITIZE=ON >/dev/null
cmake --build "$build_dir/build" -j "$(nproc 2>/dev/null || echo 2)"
bin="$build_dir/build"

# --- 3. header as C11 and C++17 ----------------------------------------------------------------
step "header in C11 and C++17 (-Wall -Wextra -Werror -pedantic)"
for prog in header_c11 header_cpp17; do
  if "$bin/$prog"; then ok "$prog"; else ko "$prog"; fi
done

# --- 4. the example, built with pkg-config -----------------------------------------------------
step "examples/c/agent.c with pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror -pedantic "$repo/examples/c/agent.c" $(pkg-config --cflags --libs failsoft) \
  -Wl,-rpath,"$(pkg-config --variable=libdir failsoft)" -o "$bin/agent"; then
  # Against the simulator's Langfuse, then with Langfuse unreachable (the fallback).
  coproc SIM { exec "$FAILSOFT_SIM_BIN" --exit-on-stdin-eof; }
  read -r sim_line <&"${SIM[0]}"
  sim_url="$(printf '%s' "$sim_line" | sed -E 's/.*"url":"([^"]+)".*/\1/')"
  live="$(LANGFUSE_BASE_URL="$sim_url" LANGFUSE_PUBLIC_KEY=pk-lf-test LANGFUSE_SECRET_KEY=sk-lf-test \
    "$bin/agent" Alien)" || true
  sim_pid="$SIM_PID"
  eval "exec ${SIM[1]}>&- ${SIM[0]}<&-" # EOF on its stdin: the simulator exits
  wait "$sim_pid" 2>/dev/null || true
  down="$(LANGFUSE_BASE_URL=http://127.0.0.1:9 LANGFUSE_PUBLIC_KEY=pk LANGFUSE_SECRET_KEY=sk "$bin/agent" Alien)" || true
  printf '%s\n%s\n' "$live" "$down"
  if grep -q "prompt: Do you like Alien?$" <<<"$live" && grep -q "source: fresh, version 1" <<<"$live" &&
    grep -q "source: fallback" <<<"$down"; then
    ok "agent example"
  else
    ko "agent example"
  fi
else
  ko "agent example does not build"
fi

step "examples/c/chat.c with pkg-config: a refused primary falls over to the fallback"
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror -pedantic "$repo/examples/c/chat.c" $(pkg-config --cflags --libs failsoft) \
  -Wl,-rpath,"$(pkg-config --variable=libdir failsoft)" -o "$bin/chat"; then
  coproc SIM { exec "$FAILSOFT_SIM_BIN" --exit-on-stdin-eof; }
  read -r sim_line <&"${SIM[0]}"
  sim_url="$(printf '%s' "$sim_line" | sed -E 's/.*"url":"([^"]+)".*/\1/')"
  # Nothing listens on port 9: the primary refuses, the simulator's /t/fallback answers.
  plain="$(OPENAI_API_KEY=sk-primary FALLBACK_API_KEY=sk-fallback \
    "$bin/chat" http://127.0.0.1:9/v1 primary-model "$sim_url/t/fallback/v1" fallback-model "Count to 3" 2>&1)" || true
  streamed="$(OPENAI_API_KEY=sk-primary FALLBACK_API_KEY=sk-fallback \
    "$bin/chat" --stream http://127.0.0.1:9/v1 primary-model "$sim_url/t/fallback/v1" fallback-model "Count to 3" 2>&1)" || true
  sim_pid="$SIM_PID"
  eval "exec ${SIM[1]}>&- ${SIM[0]}<&-"
  wait "$sim_pid" 2>/dev/null || true
  printf '%s\n%s\n' "$plain" "$streamed"
  answer='^Hello from the simulator \[target=fallback\]$'
  served='served by target 1 \(fallback-model at .*/t/fallback/v1\), is_fallback=1'
  if grep -qE "$answer" <<<"$plain" && grep -qE "$served" <<<"$plain" &&
    grep -qE "$answer" <<<"$streamed" && grep -qE "$served" <<<"$streamed"; then
    ok "chat example"
  else
    ko "chat example"
  fi
else
  ko "chat example does not build"
fi

# --- 5. GoogleTest under sanitizers ------------------------------------------------------------
step "GoogleTest suite under AddressSanitizer + LeakSanitizer + UBSan"
log="$build_dir/failsoft_tests.log"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1"
export LSAN_OPTIONS="report_objects=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
set +e
(cd "$bin" && ./failsoft_tests --gtest_color=no) >"$log" 2>&1
rc=$?
set -e
gtest_passed="$(sed -nE 's/^\[  PASSED  \] ([0-9]+) tests?\.$/\1/p' "$log" | tail -n1)"
gtest_failed="$(sed -nE 's/^\[  FAILED  \] ([0-9]+) tests?, listed below:$/\1/p' "$log" | tail -n1)"
grep -E '^\[  (PASSED|FAILED)  \]|^\[==========\]' "$log" || true
reports="$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" || true)"
passed=$((passed + ${gtest_passed:-0}))
failed=$((failed + ${gtest_failed:-0}))
if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ] || [ -z "$gtest_passed" ]; then
  echo "failsoft_tests exited $rc with $reports sanitizer report(s); the log follows" >&2
  grep -vE '^\[       OK \]|^\[ RUN      \]' "$log" | tail -n 200 >&2
  [ "${gtest_failed:-0}" -gt 0 ] || failed=$((failed + 1))
else
  echo "no sanitizer report"
fi

# --- 6. LSan canary ----------------------------------------------------------------------------
step "LeakSanitizer sees Rust allocations (a deliberate leak must be reported)"
set +e
canary="$("$bin/lsan_canary" 2>&1)"
rc=$?
set -e
if [ "$rc" -ne 0 ] && grep -q "LeakSanitizer: detected memory leaks" <<<"$canary" && grep -q "ffi/src/value.rs" <<<"$canary"; then
  ok "lsan canary: the leaked failsoft_value was reported"
else
  printf '%s\n' "$canary"
  ko "lsan canary"
fi

# --- 7. RSS ------------------------------------------------------------------------------------
step "RSS over 1,000,000 warm reads"
if "$bin/rss_test"; then ok "rss"; else ko "rss"; fi

# --- 8. benchmark ------------------------------------------------------------------------------
step "benchmark (release library)"
"$bin/bench"

printf '\nc: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
