#!/bin/sh
# Installs the Debian 12 packages that building and testing todod need.
# Idempotent: packages already present are not fetched again.  Sourced
# or run by tests/demo.sh and tests/check.sh; needs root (or sudo).
set -eu

TODOD_BUILD_DEPS="meson ninja-build pkg-config gcc libc6-dev libevent-dev
libsodium-dev libssl-dev libmsgpack-dev libcurl4-openssl-dev libdb5.3-dev
libjansson-dev libcmocka-dev"
TODOD_TEST_DEPS="python3 python3-pytest python3-requests python3-jwt
python3-cryptography python3-msgpack curl openssl ca-certificates clang
libclang-rt-14-dev util-linux procps"
TODOD_BENCH_DEPS="wrk nginx-light"
TODOD_PKG_DEPS="debhelper dpkg-dev fakeroot lintian systemd man-db"

todod_missing() {
	missing=""
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed"; then
			missing="$missing $p"
		fi
	done
	echo "$missing"
}

todod_install() {
	# shellcheck disable=SC2086
	missing=$(todod_missing $*)
	[ -z "$missing" ] && return 0
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	echo "deps: installing$missing" >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $missing >&2
}

if [ "${0##*/}" = "deps.sh" ]; then
	todod_install $TODOD_BUILD_DEPS $TODOD_TEST_DEPS ${1:+$TODOD_BENCH_DEPS}
fi
