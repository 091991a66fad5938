#!/bin/sh
# Builds the Debian package(s) of todod from this source tree and checks
# them with lintian.
#
#   packaging/build-deb.sh [-n] [-L] OUTDIR [VERSION_SUFFIX]
#
# The tree is copied (the files git knows about, tracked or new but not
# ignored; without git, everything but build directories) into a
# temporary directory, packaging/debian becomes its debian/, and
# "dpkg-buildpackage -b -us -uc" runs there, so nothing in this tree
# changes.  VERSION_SUFFIX, when given, is appended to the version in
# debian/changelog as "+SUFFIX" (0.1.0 -> 0.1.0+SUFFIX), e.g. to build a
# newer package for an upgrade test.  The .deb files, .buildinfo and
# .changes end up in OUTDIR, with the build's log in OUTDIR/build.log and
# lintian's report in OUTDIR/lintian.txt.
#
# Exit status: 0 when the build succeeded and lintian reported no error
# and no warning; 1 otherwise; 64 for a usage error.
#
# -L: skip lintian (for a throw-away build, e.g. the upgrade test's second).
# -n: do not install missing build dependencies.  Otherwise, when run as
# root, they are installed with apt-get ("apt-get satisfy" on the
# Build-Depends of packaging/debian/control, plus dpkg-dev, fakeroot and
# lintian).  DEB_BUILD_OPTIONS is passed on (e.g. nocheck, parallel=N).
set -eu

usage() {
	echo "usage: $0 [-n] [-L] OUTDIR [VERSION_SUFFIX]" >&2
	exit 64
}

install_deps=1
run_lintian=1
while getopts nL opt; do
	case $opt in
	n) install_deps=0 ;;
	L) run_lintian=0 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] && [ $# -le 2 ] || usage
case "${2:-}" in
*[!A-Za-z0-9.+~]*) echo "$0: VERSION_SUFFIX may hold A-Z a-z 0-9 . + ~ only" >&2
	exit 64 ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
suffix=${2:-}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get "$@" -y -q \
	    --no-install-recommends >&2
}

# Tools first: dpkg-checkbuilddeps and perl's Dpkg modules come with
# dpkg-dev.
if [ "$install_deps" = 1 ] && [ "$(id -u)" = 0 ]; then
	missing=""
	for p in dpkg-dev fakeroot $( [ "$run_lintian" = 1 ] && echo lintian); do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "build-deb: installing$missing" >&2
		DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
		# shellcheck disable=SC2086
		apt_install install $missing
	fi
	if ! (cd "$top/packaging" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
		bd=$(perl -MDpkg::Control::Info -e \
		    'print Dpkg::Control::Info->new($ARGV[0])->get_source->{"Build-Depends"}' \
		    "$top/packaging/debian/control")
		echo "build-deb: installing build dependencies" >&2
		DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
		apt_install satisfy "$bd"
	fi
fi

work=$(mktemp -d /tmp/todod-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/todod
mkdir "$src"

# A clean copy of the source.
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$top" ls-files -z --cached --others --exclude-standard |
	    (cd "$top" && xargs -0 sh -c \
	    'for f; do [ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done' sh) |
	    (cd "$top" && tar --null --no-recursion -T - -cf -) |
	    tar -C "$src" -xf -
else
	(cd "$top" && tar --exclude='./build*' --exclude='./obj-*' \
	    --exclude=./.git --exclude=./debian --exclude='*.pyc' \
	    --exclude=__pycache__ --exclude=.pytest_cache -cf - .) |
	    tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -R "$top/packaging/debian" "$src/debian"

if [ -n "$suffix" ]; then
	sed -i '1s/^\([a-z0-9.+-]*\) (\([^)]*\))/\1 (\2+'"$suffix"')/' \
	    "$src/debian/changelog"
fi
version=$(cd "$src" && dpkg-parsechangelog -S Version)
echo "build-deb: building todod $version in $src" >&2

(cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 || {
	tail -n 60 "$out/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (log above; all of it in" \
	    "$out/build.log)" >&2
	exit 1
}

changes=$(ls "$work"/todod_"$version"_*.changes)
for f in $(sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]\{32\} [0-9]* [^ ]* [^ ]* //p' \
    "$changes"); do
	cp "$work/$f" "$out/"
done
cp "$changes" "$out/"

if [ "$run_lintian" = 0 ]; then
	echo "build-deb: lintian skipped (-L)" >&2
	ls "$out"/*.deb
	exit 0
fi

# Errors and warnings fail the build; info and pedantic tags are shown.
rc=0
lintian --fail-on error,warning --display-info --pedantic \
    --tag-display-limit 0 "$out/${changes##*/}" >"$out/lintian.txt" 2>&1 ||
    rc=$?
cat "$out/lintian.txt" >&2
if [ "$rc" != 0 ]; then
	echo "build-deb: lintian reported errors or warnings" >&2
	exit 1
fi
echo "build-deb: lintian clean" >&2
ls "$out"/*.deb
