#!/bin/sh
# The main job: build todod, start the bundled local identity provider
# (standing in for Auth0), verifierd and todod on loopback, and walk
# through the seed's curl flow: a token from /oauth/token (password
# grant), create a todo, list todos.  Then it prints how to go on by hand
# and keeps everything running until Ctrl-C (with --once, or without a
# terminal, it stops at once).  Everything lives in a temporary directory
# and is removed at the end.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/deps.sh
# shellcheck disable=SC2086
todod_install $TODOD_BUILD_DEPS $TODOD_TEST_DEPS

PY=/usr/bin/python3
AUD=https://todo.api.test/
EMAIL=demo@example.com
PASSWORD=demo-password

[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

work=$(mktemp -d /tmp/todod-demo.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {
	i=0
	until eval "$1"; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "demo: $2 did not start; its log:" >&2
			cat "$3" >&2
			exit 1
		fi
		sleep 0.1
	done
}

$PY tests/idp/idp.py --dir "$work/idp" --audience "$AUD" \
    --user "$EMAIL:$PASSWORD" 2>"$work/idp.log" &
pids="$pids $!"
wait_for '[ -f "$work/idp/idp.json" ]' "the test IdP" "$work/idp.log"
field() {
	$PY -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" \
	    "$work/idp/idp.json" "$1"
}
DOMAIN=$(field domain)
CLIENT_ID=$(field client_id)
CLIENT_SECRET=$(field client_secret)
CA=$work/idp/ca.pem

build/verifierd/verifierd --socket "$work/verifier.sock" --domain "$DOMAIN" \
    --audience "$AUD" --ca-file "$CA" --state-dir "$work/verifierd" \
    2>"$work/verifierd.log" &
pids="$pids $!"
wait_for '[ -S "$work/verifier.sock" ]' verifierd "$work/verifierd.log"

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
build/daemon/todod --listen "127.0.0.1:$PORT" --workers 2 \
    --data-dir "$work/data" --verifier "$work/verifier.sock" \
    2>"$work/todod.log" &
pids="$pids $!"
API=http://127.0.0.1:$PORT
wait_for 'curl -s -o /dev/null "$API/"' todod "$work/todod.log"

say() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
}

say "curl --request POST --url 'https://$DOMAIN/oauth/token' --header 'content-type: application/x-www-form-urlencoded' --data 'grant_type=password&username=$EMAIL&password=...&scope=openid profile email&audience=$AUD&client_id=...&client_secret=...'"
answer=$(curl -sS --cacert "$CA" --request POST \
    --url "https://$DOMAIN/oauth/token" \
    --header 'content-type: application/x-www-form-urlencoded' \
    --data "grant_type=password&username=$EMAIL&password=$PASSWORD&scope=openid profile email&audience=$AUD&client_id=$CLIENT_ID&client_secret=$CLIENT_SECRET")
echo "$answer" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({k: (v[:24] + "..." if k.endswith("_token") else v) for k, v in d.items()}, indent=1))'
TOKEN=$(echo "$answer" | $PY -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

say "curl -X POST $API/todo/ -H 'authorization: Bearer <access token>' -H 'content-type: application/json' -d '{\"title\": \"buy milk\"}'"
curl -sS -X POST "$API/todo/" -H "authorization: Bearer $TOKEN" \
    -H 'content-type: application/json' -d '{"title": "buy milk"}'
echo
say "curl -X GET $API/todo/ -H 'authorization: Bearer <access token>'"
out=$(curl -sS -X GET "$API/todo/" -H "authorization: Bearer $TOKEN")
echo "$out"
case "$out" in
*'"title":"buy milk"'*) ;;
*) echo "demo: the todo was not listed" >&2; exit 1 ;;
esac
say "curl -X GET $API/todo/   (no token)"
curl -sS -i "$API/todo/" | sed -n '1p;$p'
echo

cat <<EOT

Everything is running (logs in $work/*.log).  Go on by hand:

  export TOKEN='$TOKEN'
  curl -H "authorization: Bearer \$TOKEN" $API/todo/
  curl -X PATCH -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' \\
       -d '{"title": "buy oat milk"}' $API/todo/1/
  build/verifierd/todo-verify --socket $work/verifier.sock "\$TOKEN"

EOT
if [ "${1:-}" != "--once" ] && [ -t 0 ]; then
	echo "Press Ctrl-C to stop everything."
	while :; do sleep 3600; done
fi
echo "demo: done"
