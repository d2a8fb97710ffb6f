#!/usr/bin/env bash
# install_test.sh: installs a finished build into a temporary prefix, then builds
# examples/hello.c against the installed package three ways (pkg-config; find_package with
# ipcx::ipcx; find_package with ipcx::ipcx_static), runs each, and checks that the shared
# library exports the public ipcx_* functions and nothing internal; with the benchmark built, that
# ipcx-bench went to libexec/ipcx/ and the installed `ipcx bench` finds it there. It never
# touches the build tree beyond what `cmake --install` itself writes, and removes its prefix
# when done.
#
# Usage: install_test.sh SOURCE_DIR BUILD_DIR CC VERSION HAVE_TOOL [SANITIZER_FLAGS [HAVE_BENCH]]
# (ctest passes these; see CMakeLists.txt).
set -euo pipefail

src=$1 build=$2 cc=$3 version=$4 have_tool=$5 san=${6:-} have_bench=${7:-0}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ipcx-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { printf '== %s\n' "$*"; }
fail() { printf 'install test FAILED: %s\n' "$*" >&2; exit 1; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || {
    cat "$tmp/install.log"
    fail "cmake --install"
}

# The directory the libraries went to (lib, or lib/<multiarch> for a /usr-style layout).
pcfile=$(find "$prefix" -name ipcx.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pcfile" ] || fail "ipcx.pc was not installed"
libdir=$(dirname "$(dirname "$pcfile")")
for f in "$prefix/include/ipcx.h" "$libdir/libipcx.a" "$libdir/libipcx.so" \
    "$libdir/cmake/ipcx/ipcxConfig.cmake" "$libdir/cmake/ipcx/ipcxConfigVersion.cmake" \
    "$libdir/cmake/ipcx/ipcxTargets.cmake"; do
    [ -e "$f" ] || fail "missing after install: $f"
done
soname=$(readelf -d "$libdir/libipcx.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libipcx.so.${version%%.*}" ] || fail "SONAME is '$soname', want libipcx.so.${version%%.*}"
if [ "$have_tool" = 1 ]; then
    [ -x "$prefix/bin/ipcx" ] || fail "the ipcx tool was not installed"
    deps=$(ldd "$prefix/bin/ipcx")
    if grep -q 'not found' <<<"$deps"; then
        printf '%s\n' "$deps"
        fail "bin/ipcx does not find its libraries without LD_LIBRARY_PATH"
    fi
fi
if [ "$have_bench" = 1 ]; then
    step "ipcx-bench in libexec/ipcx/, found by ipcx bench"
    bench=$(find "$prefix" -path '*/ipcx/ipcx-bench' -type f | head -n 1)
    [ -n "$bench" ] && [ -x "$bench" ] || fail "ipcx-bench was not installed in libexec/ipcx/"
    deps=$(ldd "$bench")
    if grep -q 'not found' <<<"$deps"; then
        printf '%s\n' "$deps"
        fail "ipcx-bench does not find its libraries without LD_LIBRARY_PATH"
    fi
    if [ "$have_tool" = 1 ]; then
        out=$("$prefix/bin/ipcx" bench --help) || fail "ipcx bench --help failed"
        want="ipcx bench runs $(realpath "$bench") (found in the libexec directory of ipcx's install)"
        first=$(head -n 1 <<<"$out")
        [ "${first#"$want"}" != "$first" ] || fail "ipcx bench --help says '$first', want '$want ...'"
        grep -q '^usage: ipcx-bench' <<<"$out" || fail "ipcx bench --help shows no engine usage"
    fi
fi

step "exported symbols"
# Only the public API leaves the shared library: ipcx_* names, never ipcx__ internals. Names
# starting with "_" belong to the toolchain (_init, __bss_start, sanitizer hooks).
syms=$(nm -D --defined-only "$libdir/libipcx.so" | awk '{print $NF}')
bad=$(grep -v '^_' <<<"$syms" | grep -Ev '^ipcx_[a-z0-9]' || true)
internal=$(grep '^ipcx__' <<<"$syms" || true)
[ -z "$bad$internal" ] || fail "non-API symbols exported:" $bad $internal
grep -qx ipcx_strerror <<<"$syms" || fail "ipcx_strerror is not exported"

export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

step "pkg-config"
export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pcver=$(pkg-config --modversion ipcx)
[ "$pcver" = "$version" ] || fail "pkg-config says version $pcver, want $version"
# shellcheck disable=SC2046,SC2086 # word splitting of flags is intended
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $san -o "$tmp/hello_pc" "$src/examples/hello.c" \
    $(pkg-config --cflags --libs ipcx)
out=$("$tmp/hello_pc")
[ "$out" = hello ] || fail "hello (pkg-config) printed '$out'"

step "pkg-config --static (libipcx.a and what it needs, liburing when built with io_uring)"
# -l:libipcx.a picks the archive over the shared library; the rest of the line must then name
# every library the archive calls (Libs.private, Requires.private).
# shellcheck disable=SC2046,SC2086 # word splitting of flags is intended
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $san -o "$tmp/hello_pc_static" \
    "$src/examples/hello.c" $(pkg-config --cflags ipcx) \
    $(pkg-config --static --libs ipcx | sed 's/-lipcx\b/-l:libipcx.a/') ||
    fail "linking libipcx.a with pkg-config --static --libs ipcx"
out=$("$tmp/hello_pc_static")
[ "$out" = hello ] || fail "hello (pkg-config --static) printed '$out'"
if readelf -d "$tmp/hello_pc_static" | grep -q 'NEEDED.*libipcx'; then
    fail "hello_pc_static links libipcx dynamically"
fi

step "find_package(ipcx)"
mkdir -p "$tmp/proj"
cat >"$tmp/proj/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(ipcx_install_test LANGUAGES C)
find_package(ipcx ${version%%.*} REQUIRED)
if(NOT ipcx_VERSION VERSION_EQUAL "${version}")
    message(FATAL_ERROR "found ipcx \${ipcx_VERSION}, want ${version}")
endif()
add_executable(hello_shared "${src}/examples/hello.c")
target_link_libraries(hello_shared PRIVATE ipcx::ipcx)
add_executable(hello_static "${src}/examples/hello.c")
target_link_libraries(hello_static PRIVATE ipcx::ipcx_static)
CMAKE
cmake -S "$tmp/proj" -B "$tmp/proj/build" -G "Unix Makefiles" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" \
    >"$tmp/proj.log" 2>&1 || { cat "$tmp/proj.log"; fail "configuring the find_package project"; }
cmake --build "$tmp/proj/build" >>"$tmp/proj.log" 2>&1 ||
    { cat "$tmp/proj.log"; fail "building the find_package project"; }
for kind in shared static; do
    out=$("$tmp/proj/build/hello_$kind")
    [ "$out" = hello ] || fail "hello_$kind printed '$out'"
done
needed=$(readelf -d "$tmp/proj/build/hello_shared")
grep -q 'NEEDED.*libipcx\.so' <<<"$needed" || fail "hello_shared does not link libipcx.so"
needed=$(readelf -d "$tmp/proj/build/hello_static")
if grep -q 'NEEDED.*libipcx' <<<"$needed"; then
    fail "hello_static links libipcx dynamically"
fi

step "install test passed"
