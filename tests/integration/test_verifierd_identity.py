"""Local user ids belong to (iss, sub): auth0|x and google-oauth2|x are two
users (the seed merged them), and ids are stable across restarts."""

import uuid

import harness as H


def test_same_suffix_different_connections(idp, verifierd, tmp_path):
    vd = verifierd(state_dir=tmp_path / "st")
    x = uuid.uuid4().hex[:24]
    subs = ["auth0|" + x, "google-oauth2|" + x, "github|" + x]
    ids = {}
    for s in subs:
        ids[s] = H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=s))), sub=s)["user"]
    assert len(set(ids.values())) == len(subs), ids
    # stable: again, and after a restart
    for s in subs:
        assert H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=s))))["user"] == ids[s]
    assert vd.restart() == 0
    for s in subs:
        assert H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=s))))["user"] == ids[s]


def test_same_email_different_subs(idp, verifierd):
    """The seed merged accounts by email; (iss, sub) decides here."""
    vd = verifierd()
    a, b = H.new_sub(), H.new_sub("google-oauth2|")
    idp.add_user(sub=a, email="shared@example.com")
    idp.add_user(sub=b, email="shared@example.com")
    ua = H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=a))))
    ub = H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=b))))
    assert ua["user"] != ub["user"]


def test_odd_subs(idp, verifierd):
    vd = verifierd()
    subs = ["plain-no-pipe", "auth0|" + "é" * 20, "a|b|c", "auth0|" + "x" * 200]
    ids = set()
    for s in subs:
        ids.add(H.assert_accepted(vd.verify(idp.mint(idp.claims(sub=s))), sub=s)["user"])
    assert len(ids) == len(subs)
