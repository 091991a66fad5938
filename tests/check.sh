#!/bin/sh
# The whole test suite, as CI runs it:
#   1. install the Debian packages it needs (idempotent);
#   2. build with -Wall -Wextra as errors, run the unit tests (cmocka) and
#      the integration tests (pytest, real daemons, local test IdP);
#   3. build again with AddressSanitizer + UndefinedBehaviorSanitizer and
#      run the unit and integration tests on that build;
#   4. build the libFuzzer targets with clang and run each briefly;
#   5. build the Debian package, install, run, upgrade and purge it, and
#      check the systemd units (tests/packaging; root only).
# Exits non-zero if anything fails or a sanitizer reports.
#
# Environment: FUZZ_SECONDS (default 20 per target), SKIP_FUZZ=1,
# SKIP_SAN=1, SKIP_PKG=1 (for quick local runs only; CI runs everything).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/deps.sh
# shellcheck disable=SC2086
todod_install $TODOD_BUILD_DEPS $TODOD_TEST_DEPS
[ "${SKIP_PKG:-0}" = 1 ] || todod_install $TODOD_PKG_DEPS

PY=/usr/bin/python3
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
export ASAN_OPTIONS="abort_on_error=1:halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

step() {
	printf '\n=== %s\n' "$*"
}

build() {
	dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	else
		meson setup --reconfigure "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir"
}

integration() {
	TODOD_BUILD_DIR="$top/$1" $PY -m pytest -q -p no:cacheprovider \
	    tests/integration
}

step "build (warnings are errors)"
build build -Dwerror=true
step "unit tests"
meson test -C build --print-errorlogs
step "integration tests"
integration build

if [ "${SKIP_SAN:-0}" != 1 ]; then
	step "build with ASan + UBSan"
	build build-san -Dwerror=true -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dbuildtype=debug
	step "unit tests (sanitizers)"
	meson test -C build-san --print-errorlogs
	step "integration tests (sanitizers)"
	# Daemons exit without freeing what lives as long as they do.
	ASAN_OPTIONS="abort_on_error=1:halt_on_error=1:detect_leaks=0" \
	    integration build-san
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
	step "fuzz targets (${FUZZ_SECONDS}s each)"
	if [ ! -f build-fuzz/build.ninja ]; then
		CC=clang meson setup build-fuzz -Dfuzz=true >/dev/null
	fi
	ninja -C build-fuzz
	for f in build-fuzz/tests/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		name=${f##*/}
		corpus=tests/fuzz/corpus/${name#fuzz_}
		work=$(mktemp -d)
		[ -d "$corpus" ] && cp -r "$corpus/." "$work/"
		log=$(mktemp)
		if ! "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		    -artifact_prefix="$work/" "$work" >"$log" 2>&1; then
			tail -n 40 "$log" >&2
			echo "fuzz: $name found a crash" >&2
			exit 1
		fi
		echo "$name: $(grep -E '^stat::number_of_executed_units' "$log")"
		rm -rf "$work" "$log"
	done
fi
if [ "${SKIP_PKG:-0}" != 1 ]; then
	step "packaging: build, install, run, upgrade, purge; unit checks"
	$PY -m pytest -q -p no:cacheprovider tests/packaging
fi
step "all tests passed"
