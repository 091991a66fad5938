"""Smoke test of the todod fixture: the whole stack (IdP -> verifierd ->
todod) answers the seed's HTTP contract for one user.  The detailed todod
scenarios live elsewhere."""


def test_stack_smoke(idp, vd, todod):
    srv = todod(vd.socket)
    r = srv.request("GET", "/")
    assert r.status_code == 200 and r.json()["todo"].endswith("/todo/")
    r = srv.request("GET", "/todo/")
    assert r.status_code == 401
    assert r.json() == {"detail": "Authentication credentials were not provided."}
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    tok = idp.access_token()
    r = srv.request("GET", "/todo/", token=tok)
    assert r.status_code == 200 and r.json() == []
    r = srv.request("POST", "/todo/", token=tok, json={"title": "buy milk",
                                                      "date": "2026-11-27"})
    assert r.status_code == 201, r.text
    todo = r.json()
    assert todo["title"] == "buy milk" and todo["date"] == "2026-11-27"
    assert isinstance(todo["id"], int) and isinstance(todo["user"], int)
    assert srv.request("GET", "/todo/", token=tok).json() == [todo]
    # another user does not see it
    b = idp.info["users"][1]
    other = idp.access_token(b["email"], b["password"])
    assert srv.request("GET", "/todo/", token=other).json() == []
    assert srv.request("GET", "/todo/%d/" % todo["id"], token=other).status_code == 404
    # the seed's messages
    r = srv.request("GET", "/todo/", token=tok[:-4] + "AAAA")
    assert r.status_code == 401 and r.json()["detail"] == "Unable to parse authentication"
    r = srv.request("GET", "/todo/", token=idp.tokens()["id_token"])
    assert r.status_code == 401
    assert r.json()["detail"] == "incorrect claims, please check the audience and issuer"
