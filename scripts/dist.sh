#!/usr/bin/env bash
# Release artifacts of failsoft into dist/, installable without a Rust toolchain:
#
#   failsoft-<v>-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl   (maturin + zig)
#   failsoft-<v>.tar.gz                      Python sdist (builds with maturin where cargo is)
#   failsoft-<v>.tgz                         npm: JS + types, the addon through optionalDependencies
#   failsoft-linux-x64-gnu-<v>.tgz           npm: the prebuilt addon (os/cpu/libc fields)
#   failsoft-<v>-linux-x86_64.tar.gz         C SDK: lib/libfailsoft.{so,a}, include/, pkg-config,
#                                            CMake package, bin/failsoft, README, LICENSE
#   SHA256SUMS
#
#   bash scripts/dist.sh                     the host's target (the first line of TARGETS)
#   FAILSOFT_DIST_TARGETS="aarch64-unknown-linux-gnu" bash scripts/dist.sh   (one CI matrix job)
#
# Everything links against glibc 2.17 through zig (`ziglang` and `cargo-zigbuild` from PyPI, in a
# tool venv under target/dist-tools), so the libraries load on any distribution from 2014 on
# (RHEL 7, Ubuntu 14.04, Amazon Linux 2): manylinux_2_17 is the oldest tag Rust's std supports.
# One version everywhere: [workspace.package] version in Cargo.toml. Needs cargo, python3 and
# npm. Environment: FAILSOFT_DIST_DIR (default dist), FAILSOFT_DIST_TARGET_DIR (default
# target/dist: kept apart from target/release, whose host build links against the host's glibc).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
started=$SECONDS

# rust triple                npm platform      glibc   wheel compatibility   C SDK platform
TARGETS=(
  "x86_64-unknown-linux-gnu  linux-x64-gnu     2.17    manylinux2014         linux-x86_64"
  # "aarch64-unknown-linux-gnu linux-arm64-gnu  2.17    manylinux2014         linux-aarch64"
  # "x86_64-unknown-linux-musl linux-x64-musl   -       musllinux_1_2         linux-x86_64-musl"
)

dist="${FAILSOFT_DIST_DIR:-$repo/dist}"
target_dir="${FAILSOFT_DIST_TARGET_DIR:-$repo/target/dist}"
tools="$repo/target/dist-tools"
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)"
[ -n "$version" ] || { echo "dist.sh: cannot read the workspace version from Cargo.toml" >&2; exit 1; }
step() { printf '\n== dist: %s\n' "$*"; }

step "tools (maturin, ziglang, cargo-zigbuild, auditwheel: scripts/dist-requirements.txt)"
[ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/dist-requirements.txt
export PATH="$tools/venv/bin:$PATH"

# Release files carry no debug info (the workspace's release profile keeps line tables for
# backtraces in development): about a third of the size. Set for every build below, so the
# maturin build reuses what cargo zigbuild compiled.
export CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=debuginfo

rm -rf "$dist"
mkdir -p "$dist"
stage="$target_dir/stage"
rm -rf "$stage"
mkdir -p "$stage"

# The npm platform packages made below, for the main package's optionalDependencies.
npm_platforms=()

build_target() {
  local triple=$1 npm_platform=$2 glibc=$3 wheel_compat=$4 sdk_platform=$5
  local zig_triple=$triple
  [ "$glibc" = "-" ] || zig_triple="$triple.$glibc"
  rustup target list --installed 2>/dev/null | grep -qx "$triple" || rustup target add "$triple"

  step "$triple: C library, Node addon and CLI (cargo zigbuild --target $zig_triple)"
  cargo zigbuild --release --locked --target "$zig_triple" --target-dir "$target_dir" \
    -p failsoft-ffi -p failsoft-node -p failsoft-cli
  local out="$target_dir/$triple/release"

  step "$triple: Python wheel ($wheel_compat)"
  maturin build --release --locked --zig --target "$triple" --compatibility "$wheel_compat" \
    --manifest-path bindings-python/Cargo.toml --target-dir "$target_dir" --out "$dist"

  step "$triple: npm package failsoft-$npm_platform"
  local pkg="$stage/npm-$npm_platform"
  mkdir -p "$pkg"
  cp "$out/libfailsoft_node.so" "$pkg/failsoft.$npm_platform.node"
  cp LICENSE "$pkg/"
  node scripts/dist/npm-manifest.js platform "$npm_platform" "$version" >"$pkg/package.json"
  printf '# failsoft-%s\n\nThe prebuilt native addon of [failsoft](https://www.npmjs.com/package/failsoft) for %s.\nInstall `failsoft`, not this package: npm picks this one through its optionalDependencies.\n' \
    "$npm_platform" "$npm_platform" >"$pkg/README.md"
  (cd "$pkg" && npm pack --silent --pack-destination "$dist" >/dev/null)
  npm_platforms+=("$npm_platform")

  step "$triple: C SDK failsoft-$version-$sdk_platform.tar.gz"
  local name="failsoft-$version-$sdk_platform"
  local sdk="$stage/$name"
  bash ffi/install.sh --prefix "$sdk" --target-dir "$target_dir/$triple" --profile release --relocatable
  install -D -m 755 "$out/failsoft" "$sdk/bin/failsoft"
  {
    printf '# failsoft %s C SDK (%s)\n\n' "$version" "$sdk_platform"
    printf 'Unpack anywhere. `lib/` holds libfailsoft.so and libfailsoft.a, `include/` failsoft.h,\n'
    printf '`bin/` the failsoft CLI (`bin/failsoft --help`). Build against it with pkg-config or CMake:\n\n'
    printf '    export PKG_CONFIG_PATH=$PWD/%s/lib/pkgconfig\n' "$name"
    printf '    cc app.c $(pkg-config --cflags --libs failsoft) -Wl,-rpath,$(pkg-config --variable=libdir failsoft)\n'
    printf '    cmake -DCMAKE_PREFIX_PATH=$PWD/%s ...   # find_package(failsoft) -> failsoft::failsoft\n\n' "$name"
    printf 'Needs glibc 2.17 or newer. The API, ownership rules and examples follow.\n\n'
    cat ffi/README.md
  } >"$sdk/README.md"
  cp LICENSE "$sdk/LICENSE"
  # Reproducible-ish: sorted entries, no owner names.
  tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner -czf "$dist/$name.tar.gz" "$name"
}

targets=()
if [ -n "${FAILSOFT_DIST_TARGETS:-}" ]; then
  for t in $FAILSOFT_DIST_TARGETS; do
    line="$(printf '%s\n' "${TARGETS[@]}" | awk -v t="$t" '$1 == t')"
    [ -n "$line" ] || { echo "dist.sh: $t is not in TARGETS (uncomment or add its line)" >&2; exit 2; }
    targets+=("$line")
  done
else
  targets+=("${TARGETS[0]}")
fi
for line in "${targets[@]}"; do
  # shellcheck disable=SC2086
  build_target $line
done

step "Python sdist"
maturin sdist --manifest-path bindings-python/Cargo.toml --out "$dist"

step "npm package failsoft (JS and types; the addon through optionalDependencies)"
main="$stage/npm-main"
mkdir -p "$main"
(cd bindings-node && { [ -x node_modules/.bin/tsc ] || npm install --ignore-scripts --no-save --no-audit --no-fund --silent; } \
  && node_modules/.bin/tsc -p tsconfig.json --outDir "$main/lib")
cp bindings-node/index.js bindings-node/index.mjs bindings-node/index.d.ts bindings-node/binding.d.ts \
  bindings-node/README.md LICENSE "$main/"
node scripts/dist/npm-manifest.js main "$version" "${npm_platforms[@]}" <bindings-node/package.json >"$main/package.json"
(cd "$main" && npm pack --silent --pack-destination "$dist" >/dev/null)

step "SHA256SUMS"
(cd "$dist" && sha256sum -- * >SHA256SUMS)

step "dist/ (failsoft $version)"
(cd "$dist" && for f in *; do printf '%10s  %s\n' "$(du -h --apparent-size "$f" | cut -f1)" "$f"; done)
echo "dist.sh took $((SECONDS - started)) s"
