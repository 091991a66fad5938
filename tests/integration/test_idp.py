"""The local test IdP on its own: JWKS, password grant, userinfo, faults,
rotation, minting.  No todod binaries needed."""

import concurrent.futures
import json
import ssl
import subprocess
import threading
import time

import jwt
import pytest
import requests

import harness as H


def jwk_public(jwk):
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))


def test_info_file_and_tls(idp):
    info = idp.info
    assert info["domain"] == "127.0.0.1:%d" % info["port"]
    assert info["issuer"] == "https://%s/" % info["domain"]
    assert info["keys"] and info["keys"][0]["kid"] == info["current_kid"]
    # the CA really is needed: the default trust store refuses the server
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(idp.url(".well-known/jwks.json"), timeout=5)
    # and the certificate is valid for localhost too
    r = requests.get("https://localhost:%d/.well-known/jwks.json" % idp.port,
                     verify=idp.ca, timeout=5)
    assert r.status_code == 200
    # a strict client (hostname check, TLS >= 1.2) is happy
    ctx = ssl.create_default_context(cafile=idp.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    import socket
    with socket.create_connection(("127.0.0.1", idp.port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            assert t.version() in ("TLSv1.2", "TLSv1.3")


def test_jwks_document(idp):
    idp.set_max_age(123)
    r = idp.jwks()
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "public, max-age=123"
    assert r.headers["Content-Type"].startswith("application/json")
    keys = r.json()["keys"]
    assert [k["kid"] for k in keys] == [idp.current_kid]
    k = keys[0]
    assert (k["kty"], k["use"], k["alg"]) == ("RSA", "sig", "RS256")
    pub = jwk_public(k)
    assert pub.public_numbers() == idp.key().public_key().public_numbers()
    assert idp.counters()["jwks"] == 1


@pytest.mark.parametrize("as_json", [False, True])
def test_password_grant(idp, as_json):
    r = idp.password_grant(as_json=as_json)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert body["scope"] == "openid profile email"
    at, it = body["access_token"], body["id_token"]
    hdr = jwt.get_unverified_header(at)
    assert hdr["alg"] == "RS256" and hdr["kid"] == idp.current_kid
    pub = idp.key().public_key()
    claims = jwt.decode(at, pub, algorithms=["RS256"], audience=idp.audience,
                        issuer=idp.issuer)
    user = idp.info["users"][0]
    assert claims["sub"] == user["sub"] and claims["sub"].startswith("auth0|")
    assert claims["aud"] == [idp.audience, idp.issuer + "userinfo"]
    assert claims["exp"] == claims["iat"] + 86400
    assert claims["azp"] == idp.client_id
    # the id_token is for the client, not for the API (the seed's warning)
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(it, pub, algorithms=["RS256"], audience=idp.audience)
    ic = jwt.decode(it, pub, algorithms=["RS256"], audience=idp.client_id)
    assert ic["sub"] == user["sub"] and ic["email"] == user["email"]
    # stable sub per user
    again = jwt.decode(idp.access_token(), options={"verify_signature": False})
    assert again["sub"] == claims["sub"]


def test_password_grant_errors(idp):
    u = idp.info["users"][0]
    r = idp.password_grant(u["email"], "wrong")
    assert r.status_code == 403 and r.json()["error"] == "invalid_grant"
    r = idp.password_grant(u["email"], u["password"], client_secret="nope")
    assert r.status_code == 401
    r = idp.password_grant(u["email"], u["password"], client_id="nope")
    assert r.status_code == 401
    r = idp.password_grant(u["email"], u["password"], audience="https://other/")
    assert r.status_code == 403
    r = idp.password_grant(u["email"], u["password"], grant_type="client_credentials")
    assert r.status_code == 403
    assert idp.counters()["token"] == 5


def test_userinfo_counts_per_sub(idp):
    tok = idp.tokens()
    sub = idp.info["users"][0]["sub"]
    for _ in range(3):
        r = idp.userinfo(tok["access_token"])
        assert r.status_code == 200
        assert r.json() == {**r.json(), "sub": sub, "email": idp.info["users"][0]["email"],
                            "email_verified": True}
    # the seed passes the token as a query parameter; counted separately
    r = idp.session.get(idp.url("userinfo"), params={"access_token": tok["access_token"]})
    assert r.status_code == 200
    assert idp.userinfo(tok["access_token"] + "x").status_code == 401
    assert idp.session.get(idp.url("userinfo")).status_code == 401
    c = idp.counters()
    assert c["userinfo_by_sub"] == {sub: 4}
    assert c["userinfo_header_token"] == 4 and c["userinfo_query_token"] == 1
    assert c["userinfo_invalid"] == 2
    # a token minted for any sub works, with a synthesised email
    sub2 = H.new_sub("google-oauth2|")
    r = idp.userinfo(idp.mint(idp.claims(sub=sub2)))
    assert r.status_code == 200 and r.json()["email"].endswith("@users.test")
    # a token by a key the IdP does not have is refused
    r = idp.userinfo(idp.mint(idp.claims(), key=H.new_rsa_key()))
    assert r.status_code == 401


def test_user_without_email(idp):
    sub = H.new_sub()
    idp.add_user(sub=sub, no_email=True)
    r = idp.userinfo(idp.mint(idp.claims(sub=sub)))
    assert r.status_code == 200 and "email" not in r.json()
    u = idp.add_user(email="carol@example.com", password="pw", no_email=True)
    tok = idp.access_token("carol@example.com", "pw")
    r = idp.userinfo(tok)
    assert r.status_code == 200 and r.json()["sub"] == u["sub"] and "email" not in r.json()


@pytest.mark.parametrize("group", ["jwks", "userinfo", "token"])
def test_faults(idp, group):
    tok = idp.access_token()

    def call():
        if group == "jwks":
            return idp.session.get(idp.url(".well-known/jwks.json"), timeout=10,
                                   allow_redirects=False)
        if group == "userinfo":
            return idp.session.get(idp.url("userinfo"), timeout=10, allow_redirects=False,
                                   headers={"Authorization": "Bearer " + tok})
        return idp.session.post(idp.url("oauth/token"), timeout=10, allow_redirects=False,
                                data={"grant_type": "password"})

    idp.fault(group, "500")
    assert call().status_code == 500
    idp.fault(group, "429", retry_after=7)
    r = call()
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    idp.fault(group, "garbage")
    r = call()
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.text)
    idp.fault(group, "bigdoc", size=3 << 20)
    r = call()
    assert r.status_code == 200 and len(r.content) == 3 << 20
    first = r.text.splitlines()[0]
    assert json.loads(first)["i"] == 0
    idp.fault(group, "redirect")
    r = call()
    assert r.status_code == 302 and "/_redirected/" in r.headers["Location"]
    idp.fault(group, "drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        call()
    idp.fault(group, "500", count=2)
    assert call().status_code == 500
    assert call().status_code == 500
    assert call().status_code != 500
    idp.fault(group, "delay", delay=0.3)
    t0 = time.monotonic()
    call()
    assert time.monotonic() - t0 >= 0.3
    idp.clear()
    assert call().status_code in (200, 401)


def test_redirect_target_serves_and_counts(idp):
    idp.fault("jwks", "redirect")
    r = idp.session.get(idp.url(".well-known/jwks.json"), timeout=10)
    assert r.status_code == 200 and r.json()["keys"]
    assert idp.counters()["redirect_followed"] == 1


def test_bigdoc_json_shape(idp):
    idp.fault("jwks", "bigdoc", size=1 << 20, shape="json")
    r = idp.jwks()
    assert len(r.content) == 1 << 20
    assert r.json()["keys"][0]["kid"] == idp.current_kid


def test_hang_until_cleared(idp):
    idp.fault("jwks", "hang")
    out = {}

    def fetch():
        t0 = time.monotonic()
        out["status"] = idp.jwks().status_code
        out["t"] = time.monotonic() - t0
    th = threading.Thread(target=fetch)
    th.start()
    time.sleep(0.5)
    assert th.is_alive()
    idp.clear()
    th.join(5)
    assert out["status"] == 200 and 0.4 < out["t"] < 3


def test_hang_max(idp):
    idp.fault("userinfo", "hang", hang_max=0.3)
    r = idp.userinfo("x.y.z")
    assert r.status_code == 504


def test_rotation(fresh_idp):
    idp = fresh_idp
    old = idp.current_kid
    ans = idp.rotate()
    assert ans["kid"] != old and idp.current_kid == ans["kid"]
    kids = [k["kid"] for k in idp.jwks().json()["keys"]]
    assert kids == [old, ans["kid"]]
    tok = idp.access_token()
    assert jwt.get_unverified_header(tok)["kid"] == ans["kid"]
    ans2 = idp.rotate(drop_old=True)
    assert sorted(ans2["dropped"]) == sorted([old, ans["kid"]])
    kids = [k["kid"] for k in idp.jwks().json()["keys"]]
    assert kids == [ans2["kid"]]
    # the dropped keys' PEMs are still available for tests
    assert idp.key(old) is not None
    idp.publish(old, True)
    assert old in [k["kid"] for k in idp.jwks().json()["keys"]]


def test_mint_remote(idp):
    t = idp.mint_remote(claims={"sub": "auth0|m"}, defaults=True)
    c = jwt.decode(t, idp.key().public_key(), algorithms=["RS256"], audience=idp.audience,
                   issuer=idp.issuer)
    assert c["sub"] == "auth0|m"
    t = idp.mint_remote(claims={"a": 1}, alg="none")
    assert t.endswith(".") and jwt.get_unverified_header(t)["alg"] == "none"
    t = idp.mint_remote(header='{"alg":"HS256","alg":"HS256"}', claims='{"a":1,"a":2}',
                        alg="HS256", secret="s")
    h, p, s = t.split(".")
    assert H.b64u('{"a":1,"a":2}') == p
    t = idp.mint_remote(claims={"a": 1}, alg="PS256")
    jwt.decode(t, idp.key().public_key(), algorithms=["PS256"])


def test_extra_jwks(idp):
    idp.control("jwks_extra", keys=[{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}])
    kids = [k["kid"] for k in idp.jwks().json()["keys"]]
    assert kids == [idp.current_kid, "hmac"]
    idp.reset()
    assert [k["kid"] for k in idp.jwks().json()["keys"]] == [idp.current_kid]


def test_control_errors(idp):
    r = idp.session.post(idp.url("_control/fault"), json={"group": "x", "mode": "500"})
    assert r.status_code == 400
    r = idp.session.post(idp.url("_control/fault"), json={"group": "jwks", "mode": "x"})
    assert r.status_code == 400
    r = idp.session.post(idp.url("_control/nope"), json={})
    assert r.status_code == 404


def test_concurrent_requests(idp):
    tok = idp.access_token()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        res = list(ex.map(lambda _: idp.userinfo(tok).status_code, range(64)))
    assert res == [200] * 64


def test_no_tokens_in_log(fresh_idp):
    idp = fresh_idp
    tok = idp.access_token()
    idp.userinfo(tok)
    idp.session.get(idp.url("userinfo"), params={"access_token": tok})
    idp.mint_remote(claims={}, defaults=True)
    log = idp.daemon.stderr()
    assert '"GET /userinfo" 200' in log
    for part in tok.split("."):
        assert part not in log
    assert idp.client_secret not in log


def test_sigterm_and_reuse(fresh_idp):
    idp = fresh_idp
    idp.fault("jwks", "hang")
    th = threading.Thread(target=lambda: pytest.raises(Exception, idp.jwks))
    th.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    assert idp.stop() == 0
    assert time.monotonic() - t0 < 2
    th.join(5)
    kid, port = idp.current_kid, idp.port
    idp.restart()
    assert idp.port == port and idp.current_kid == kid
    assert idp.jwks().json()["keys"][0]["kid"] == kid


def test_cli_help():
    p = subprocess.run([H.sys.executable, str(H.IDP_PY), "--help"], capture_output=True,
                       timeout=20)
    assert p.returncode == 0 and b"--dir" in p.stdout
