#!/usr/bin/env bash
# Installs failsoft's C library from a cargo build: the header, the shared and static
# libraries, failsoft.pc (pkg-config) and the CMake package config.
#
#   cargo build --release -p failsoft-ffi
#   ffi/install.sh --prefix /usr/local            # or any directory; sudo as needed
#
# Options: --prefix DIR (default /usr/local), --target-dir DIR (default: $CARGO_TARGET_DIR or
# <repo>/target), --profile NAME (default release), --destdir DIR (staging root for packagers),
# --relocatable (failsoft.pc finds the prefix from its own place, for a tarball unpacked
# anywhere: scripts/dist.sh; the CMake package always does).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix=/usr/local
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
profile=release
destdir=""
relocatable=false
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --target-dir) target_dir="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    --destdir) destdir="$2"; shift 2 ;;
    --relocatable) relocatable=true; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac

libdir="$target_dir/$profile"
[ -f "$libdir/libfailsoft.a" ] || [ -f "$libdir/libfailsoft.so" ] || {
  echo "install.sh: no libfailsoft in $libdir; run: cargo build --$profile -p failsoft-ffi" >&2
  exit 1
}
# The workspace version: [workspace.package] version in the root Cargo.toml.
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)"
[ -n "$version" ] || { echo "install.sh: cannot read the workspace version" >&2; exit 1; }

root="$destdir$prefix"
install -d "$root/include" "$root/lib/pkgconfig" "$root/lib/cmake/failsoft"
install -m 644 "$repo/include/failsoft.h" "$root/include/failsoft.h"
for lib in libfailsoft.so libfailsoft.a; do
  if [ -f "$libdir/$lib" ]; then install -m 644 "$libdir/$lib" "$root/lib/$lib"; fi
done
pc_prefix="$prefix"
# pkg-config sets ${pcfiledir} to the directory of the .pc file it reads: <prefix>/lib/pkgconfig.
$relocatable && pc_prefix='${pcfiledir}/../..'
sed -e "s|@PREFIX@|$pc_prefix|g" -e "s|@VERSION@|$version|g" "$repo/ffi/failsoft.pc.in" >"$root/lib/pkgconfig/failsoft.pc"
install -m 644 "$repo/cmake/failsoftConfig.cmake" "$root/lib/cmake/failsoft/failsoftConfig.cmake"
sed -e "s|@FAILSOFT_VERSION@|$version|g" "$repo/cmake/failsoftConfigVersion.cmake.in" \
  >"$root/lib/cmake/failsoft/failsoftConfigVersion.cmake"
echo "installed failsoft $version into $root"
