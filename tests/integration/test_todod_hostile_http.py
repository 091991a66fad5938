"""todod scenario 9: hostile HTTP.

Ambiguous framing, oversized heads, malformed/deep/non-UTF-8/wrongly
typed JSON: each is refused with a 4xx (DRF's message where DRF has one),
each next to an accepted twin sent the same way, and afterwards the
same worker processes still answer normally (nothing crashed).
"""

import pytest

import todod_util as U
from todod_util import todod_module, vd_module  # noqa: F401  (fixtures)

MAX_BODY = 1 << 20


@pytest.fixture(scope="module")
def srv(todod_module, vd_module):  # noqa: F811
    s = todod_module(vd_module.socket, workers=2, args=["--max-body", MAX_BODY])
    s.pids_at_start = U.workers(s, 2)
    return s


@pytest.fixture
def user(idp_module):
    return U.User(idp_module)


def auth(user):
    return ("Authorization: Bearer %s\r\n" % user.token).encode()


def post(user, body, extra=b"", cl=True, path=b"/todo/"):
    head = (b"POST " + path + b" HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
            + auth(user))
    if cl:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + extra + b"\r\n" + body


def chunked(body):
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def titles(srv, user):
    return [t["title"] for t in U.call(srv, "GET", "/todo/", user).json()]


def test_content_length_with_transfer_encoding(srv, user):
    body = b'{"title": "framed"}'
    for raw in (
        post(user, chunked(body), b"Transfer-Encoding: chunked\r\n"),          # CL + TE
        post(user, chunked(body), b"Transfer-Encoding: chunked\r\n", cl=False)
        .replace(b"Transfer-Encoding: chunked\r\n",
                 b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),    # TE then CL
        post(user, chunked(body), b"Transfer-Encoding: chunked, identity\r\n", cl=False),
        post(user, chunked(body), b"Transfer-Encoding: gzip\r\n", cl=False),
        post(user, chunked(body), b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
             cl=False),
    ):
        status, headers, resp = U.raw_request(srv, raw)
        assert status == 400, (raw[:200], status, resp)
    assert titles(srv, user) == []
    # twins: chunked alone, Content-Length alone
    status, _, resp = U.raw_request(srv, post(user, chunked(body),
                                              b"Transfer-Encoding: chunked\r\n", cl=False))
    assert status == 201, resp
    status, _, resp = U.raw_request(srv, post(user, body))
    assert status == 201, resp
    assert titles(srv, user) == ["framed", "framed"]


def test_two_content_lengths(srv, user):
    body = b'{"title": "twice"}'
    for extra in (b"Content-Length: %d\r\n" % (len(body) + 3),
                  b"Content-Length: %d\r\n" % (len(body) - 3),
                  b"Content-Length: 0\r\n"):
        raw = post(user, body, extra)
        status, headers, resp = U.raw_request(srv, raw + b"   ")
        assert status == 400, (extra, status, resp)
    assert titles(srv, user) == []
    status, _, resp = U.raw_request(srv, post(user, body))
    assert status == 201, resp


def test_the_400_for_ambiguous_framing_closes_the_connection(srv, user):
    body = b'{"title": "smuggle"}'
    smuggled = b"GET /todo/ HTTP/1.1\r\nHost: h\r\n" + auth(user) + b"\r\n"
    raw = post(user, chunked(body) + smuggled, b"Transfer-Encoding: chunked\r\n"
               b"Content-Length: %d\r\n" % len(chunked(body) + smuggled), cl=False)
    with U.raw_connect(srv) as s:
        s.sendall(raw)
        status, headers, resp = U.read_response(s)
        assert status == 400
        assert U.closed_by_peer(s, 3.0), "connection left open after a framing error"
    assert titles(srv, user) == []


@pytest.mark.parametrize("what", ["header", "request-line", "many-headers"])
def test_oversized_head_is_4xx(srv, user, what):
    def head(n):
        if what == "header":
            return (b"GET /todo/ HTTP/1.1\r\nHost: h\r\n" + auth(user)
                    + b"X-Big: " + b"a" * n + b"\r\n\r\n")
        if what == "request-line":
            return b"GET /todo/?q=" + b"a" * n + b" HTTP/1.1\r\nHost: h\r\n" + auth(user) + b"\r\n"
        return (b"GET /todo/ HTTP/1.1\r\nHost: h\r\n" + auth(user)
                + b"".join(b"X-H%d: v\r\n" % i for i in range(n // 10)) + b"\r\n")
    status, _, resp = U.raw_request(srv, head(20000))
    assert 400 <= status < 500, (status, resp[:200])
    status, _, resp = U.raw_request(srv, head(200000))
    assert status is None or 400 <= status < 500, (status, resp[:200])
    # twin: the same shape, small enough
    status, _, resp = U.raw_request(srv, head(3000))
    assert status == 200, (status, resp[:200])


def test_malformed_json(srv, user):
    for body in (b'{"title": "x"', b"{bad", b'{"title": "x",}', b"nul\x00", b"{'title': 'x'}",
                 b'{"title": "x"} trailing', b"[1, 2", b'"unterminated'):
        r = U.call(srv, "POST", "/todo/", user, data=body,
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (body, r.status_code, r.text)
        detail = r.json()["detail"]
        assert set(r.json()) == {"detail"} and detail.startswith("JSON parse error - "), r.text
    # valid JSON that is not an object: DRF's serializer message
    for body, kind in ((b"[1, 2]", "list"), (b'"str"', "str"), (b"5", "int"), (b"true", "bool")):
        r = U.call(srv, "POST", "/todo/", user, data=body,
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 400
        assert r.json() == {"non_field_errors": [
            "Invalid data. Expected a dictionary, but got %s." % kind]}
    r = U.call(srv, "POST", "/todo/", user, data=b"null",
               headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json() == {"non_field_errors": ["No data provided"]}
    assert titles(srv, user) == []
    r = U.call(srv, "POST", "/todo/", user, data=b'{"title": "x"}',
               headers={"Content-Type": "application/json"})
    assert r.status_code == 201


@pytest.mark.parametrize("opener,closer", [(b"[", b"]"), (b'{"a":', b"}")])
def test_deeply_nested_json(srv, user, opener, closer):
    depth = 100000
    body = b'{"title": "deep", "x": ' + opener * depth + b"1" + closer * depth + b"}"
    assert len(body) < MAX_BODY
    r = U.call(srv, "POST", "/todo/", user, data=body,
               headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text[:200]
    assert r.json()["detail"].startswith("JSON parse error - ")
    # unbalanced, too
    r = U.call(srv, "POST", "/todo/", user, data=opener * depth,
               headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"].startswith("JSON parse error - ")
    # twin: modest nesting is fine and ignored
    body = b'{"title": "deep", "x": ' + opener * 10 + b"1" + closer * 10 + b"}"
    r = U.call(srv, "POST", "/todo/", user, data=body,
               headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert titles(srv, user) == ["deep"]


def test_non_utf8_json(srv, user):
    good = "café ☕".encode("utf-8")
    for bad in ("café".encode("latin-1"), b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80",
                b"\xf4\x90\x80\x80", good[:-1] + b"x"):
        body = b'{"title": "' + bad + b'"}'
        r = U.call(srv, "POST", "/todo/", user, data=body,
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["detail"].startswith(
            "JSON parse error - 'utf-8' codec can't decode"), r.text
    # UTF-16 declared: 415 (we only parse UTF-8)
    body = '{"title": "x"}'.encode("utf-16")
    r = U.call(srv, "POST", "/todo/", user, data=body,
               headers={"Content-Type": "application/json; charset=utf-16"})
    assert r.status_code == 415
    # non-UTF-8 in a form title
    r = U.call(srv, "POST", "/todo/", user, data=b"title=caf%E9",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    assert titles(srv, user) == []
    r = U.call(srv, "POST", "/todo/", user, data=b'{"title": "' + good + b'"}',
               headers={"Content-Type": "application/json"})
    assert r.status_code == 201 and r.json()["title"] == "café ☕"
    r = U.call(srv, "POST", "/todo/", user, data=b"title=caf%C3%A9",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 201 and r.json()["title"] == "café"


@pytest.mark.parametrize("value,message", [
    (["a", "list"], "Not a valid string."),
    ({"an": "object"}, "Not a valid string."),
    (True, "Not a valid string."),
    (False, "Not a valid string."),
    (None, "This field may not be null."),
])
def test_wrongly_typed_title(srv, user, value, message):
    r = U.call(srv, "POST", "/todo/", user, json={"title": value})
    assert r.status_code == 400 and r.json() == {"title": [message]}, r.text
    t = U.create(srv, user, "typed")
    r = U.call(srv, "PUT", "/todo/%d/" % t["id"], user, json={"title": value})
    assert r.status_code == 400 and r.json() == {"title": [message]}
    r = U.call(srv, "PATCH", "/todo/%d/" % t["id"], user, json={"title": value})
    assert r.status_code == 400 and r.json() == {"title": [message]}
    r = U.call(srv, "POST", "/todo/", user, json={"title": "x", "date": value})
    assert r.status_code == 400 and "date" in r.json()
    # twins: strings and numbers (str() of them) are accepted
    for ok, shown in (("a string", "a string"), (7, "7"), (2.5, "2.5")):
        r = U.call(srv, "POST", "/todo/", user, json={"title": ok})
        assert r.status_code == 201 and r.json()["title"] == shown
    assert U.call(srv, "GET", "/todo/%d/" % t["id"], user).json() == t


def test_garbage_requests(srv, user):
    for raw in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\nHost: h\r\n\r\n",
                b"GET /\r\n\r\n", b"GET / HTTP/1.1\r\nHost: h\r\nBad Header Line\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
                b"POST /todo/ HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n",
                b"POST /todo/ HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        status, _, resp = U.raw_request(srv, raw, half_close=True)
        assert status is None or 400 <= status < 500, (raw[:40], status, resp[:200])
    # a TLS ClientHello on the plain port: no answer, connection closed at EOF
    status, _, resp = U.raw_request(srv, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
                                    + b"\x00" * 64, half_close=True)
    assert status is None or 400 <= status < 500, (status, resp[:200])
    # twin
    status, _, resp = U.raw_request(srv, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert status == 200


def test_workers_survived_everything(srv, user):
    """Runs last in this module: same worker pids as at start, all serving."""
    assert U.workers(srv) == srv.pids_at_start
    srv.daemon.assert_alive()
    for _ in range(6):
        r = U.call(srv, "POST", "/todo/", user, session=U.new_session(), json={"title": "alive"})
        assert r.status_code == 201
    assert "died" not in srv.daemon.stderr()
