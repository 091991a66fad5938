"""todod scenario 2: the authentication table, through HTTP.

Every rejected header is built by the same helper as an accepted twin
(same user, same route, one thing changed), and every refusal is checked
for status, DRF's `detail`, `WWW-Authenticate` and for having stored
nothing.
"""

import base64
import json
import time

import pytest

import harness as H
import todod_util as U
from todod_util import todod_module, vd_module  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def srv(todod_module, vd_module):  # noqa: F811
    return todod_module(vd_module.socket, workers=2)


@pytest.fixture(scope="module")
def other_key():
    return H.new_rsa_key(cached="todod-auth-attacker")


def tok(idp, sub, **claims):
    return idp.mint(idp.claims(sub=sub, **claims))


def attempt(srv, auth, method="GET", path="/todo/", **kw):
    headers = {} if auth is None else {"Authorization": auth}
    return U.call(srv, method, path, headers=headers, session=U.new_session(), **kw)


def stored(srv, idp, sub):
    """What `sub` has, asked with a fresh valid token."""
    r = U.call(srv, "GET", "/todo/", tok(idp, sub))
    assert r.status_code == 200, r.text
    return r.json()


def cases(idp, sub, other_key):
    """(name, Authorization header value or None, detail, presented)."""
    now = int(time.time())
    good = tok(idp, sub)
    return [
        ("no header", None, U.AUTH_MISSING, False),
        ("basic scheme", "Basic dXNlcjpwYXNz", U.AUTH_MISSING, False),
        ("token scheme", "Token " + good, U.AUTH_MISSING, False),
        ("bearer glued", "Bearer" + good, U.AUTH_MISSING, False),
        ("bearer alone", "Bearer", U.AUTH_BAD_HEADER, True),
        ("bearer spaces", "Bearer   ", U.AUTH_BAD_HEADER, True),
        ("two parts", "Bearer a b", U.AUTH_BAD_HEADER, True),
        ("token and junk", "Bearer %s extra" % good, U.AUTH_BAD_HEADER, True),
        ("expired", "Bearer " + tok(idp, sub, iat=now - 7200, exp=now - 3600),
         U.AUTH_EXPIRED, True),
        ("wrong aud", "Bearer " + tok(idp, sub, aud="https://elsewhere.example/api"),
         U.AUTH_CLAIMS, True),
        ("wrong iss", "Bearer " + tok(idp, sub, iss="https://evil.example/"),
         U.AUTH_CLAIMS, True),
        ("id_token", "Bearer " + idp.tokens()["id_token"], U.AUTH_CLAIMS, True),
        ("bad signature", "Bearer " + idp.mint(idp.claims(sub=sub), key=other_key),
         U.AUTH_PARSE, True),
        ("tampered payload", "Bearer " + tamper(good), U.AUTH_PARSE, True),
        ("garbage", "Bearer not-a-jwt", U.AUTH_PARSE, True),
        ("unknown kid", "Bearer " + idp.mint(idp.claims(sub=sub), key=other_key,
                                            kid="no-such-kid-todod"),
         U.AUTH_BAD_HEADER, True),
    ]


def tamper(token):
    h, p, s = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["sub"] = H.new_sub()
    return ".".join([h, H.b64u(json.dumps(claims, separators=(",", ":"))), s])


def test_rejections_and_accepted_twins(srv, idp_module, other_key):
    idp = idp_module
    sub = H.new_sub()
    good = tok(idp, sub)
    # accepted: the same header built the normal way
    r = attempt(srv, "Bearer " + good)
    assert r.status_code == 200 and r.json() == []
    for name, auth, detail, presented in cases(idp, sub, other_key):
        for method, path, kw in (("GET", "/todo/", {}),
                                 ("POST", "/todo/", {"json": {"title": name}})):
            r = attempt(srv, auth, method, path, **kw)
            assert r.status_code == 401, (name, method, r.status_code, r.text)
            U.assert_401(r, detail, presented)
    # no refused request reached storage
    assert stored(srv, idp, sub) == []
    r = attempt(srv, "Bearer " + good, "POST", "/todo/", json={"title": "accepted"})
    assert r.status_code == 201
    assert [t["title"] for t in stored(srv, idp, sub)] == ["accepted"]


def test_rejected_on_item_routes_without_touching_the_todo(srv, idp_module, other_key):
    idp = idp_module
    sub = H.new_sub()
    good = tok(idp, sub)
    t = U.create(srv, good, "keep me", "2026-02-03")
    path = "/todo/%d/" % t["id"]
    for name, auth, detail, presented in cases(idp, sub, other_key):
        for method, kw in (("GET", {}), ("PUT", {"json": {"title": "x"}}),
                           ("PATCH", {"json": {"title": "x"}}), ("DELETE", {})):
            U.assert_401(attempt(srv, auth, method, path, **kw), detail, presented)
    assert stored(srv, idp, sub) == [t]
    # twins, accepted
    assert attempt(srv, "Bearer " + good, "GET", path).json() == t
    r = attempt(srv, "Bearer " + good, "PATCH", path, json={"title": "changed"})
    assert r.status_code == 200 and r.json()["title"] == "changed"
    assert attempt(srv, "Bearer " + good, "DELETE", path).status_code == 204


@pytest.mark.parametrize("keyword", ["Bearer", "bearer", "BEARER", "bEaReR"])
@pytest.mark.parametrize("spacing", ["{k} {t}", "{k}  {t}", "{k}\t{t} "],
                         ids=["one-space", "two-spaces", "tab"])
def test_keyword_case_and_spacing_accepted(srv, idp_module, keyword, spacing):
    sub = H.new_sub()
    token = tok(idp_module, sub)
    auth = spacing.format(k=keyword, t=token)
    r = attempt(srv, auth, "POST", "/todo/", json={"title": keyword})
    assert r.status_code == 201, (auth[:20], r.text)
    assert attempt(srv, auth).json() == [r.json()]
    # the twin: the same keyword with the token split in two
    U.assert_401(attempt(srv, spacing.format(k=keyword, t=token[:20] + " " + token[20:])),
                 U.AUTH_BAD_HEADER, True)


def test_password_grant_access_token_accepted_id_token_refused(srv, idp_module):
    toks = idp_module.tokens()
    r = attempt(srv, "Bearer " + toks["access_token"])
    assert r.status_code == 200, r.text
    U.assert_401(attempt(srv, "Bearer " + toks["id_token"]), U.AUTH_CLAIMS, True)


def test_expiry_boundary(srv, idp_module):
    """A token that expired an hour ago is refused; one that expires in a
    minute is accepted (same claims otherwise)."""
    now = int(time.time())
    sub = H.new_sub()
    U.assert_401(attempt(srv, "Bearer " + tok(idp_module, sub, iat=now - 7200,
                                              exp=now - 3600)), U.AUTH_EXPIRED, True)
    r = attempt(srv, "Bearer " + tok(idp_module, sub, iat=now - 7200, exp=now + 60))
    assert r.status_code == 200, r.text


def test_same_sub_suffix_different_provider_is_a_different_user(srv, idp_module):
    """The seed collapsed auth0|x and google-oauth2|x; todod must not."""
    suffix = H.new_sub("")
    a = tok(idp_module, "auth0|" + suffix)
    g = tok(idp_module, "google-oauth2|" + suffix)
    ta = U.create(srv, a, "auth0's")
    tg = U.create(srv, g, "google's")
    assert ta["user"] != tg["user"]
    assert U.call(srv, "GET", "/todo/", a).json() == [ta]
    assert U.call(srv, "GET", "/todo/", g).json() == [tg]
    U.assert_detail(U.call(srv, "GET", "/todo/%d/" % ta["id"], g), 404, "Not found.")
