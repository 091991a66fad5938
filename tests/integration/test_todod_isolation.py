"""todod scenario 3: cross-user isolation.

User B can neither read, change nor delete user A's todo (always 404,
the same answer as for an id that does not exist), A's todo is unchanged
afterwards, B's list never shows it, and ids are unique across users.
"""

import pytest

import todod_util as U
from todod_util import todod_module, vd_module  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def srv(todod_module, vd_module):  # noqa: F811
    return todod_module(vd_module.socket, workers=2)


def test_other_users_todo_is_404_and_untouched(srv, idp_module):
    a, b = U.User(idp_module), U.User(idp_module)
    ta = U.create(srv, a, "A's secret", "2026-04-05")
    tb = U.create(srv, b, "B's own", "2026-04-06")
    assert ta["user"] != tb["user"]
    pa, pb = "/todo/%d/" % ta["id"], "/todo/%d/" % tb["id"]
    missing = "/todo/%d/" % (max(ta["id"], tb["id"]) + 10 ** 6)
    attempts = (("GET", {}),
                ("PUT", {"json": {"title": "hijacked", "date": "2030-01-01"}}),
                ("PATCH", {"json": {"title": "hijacked"}}),
                ("PATCH", {"json": {}}),
                ("HEAD", {}),
                ("DELETE", {}))
    for method, kw in attempts:
        r = U.call(srv, method, pa, b, **kw)
        assert r.status_code == 404, (method, r.status_code, r.text)
        if method != "HEAD":
            assert r.json() == U.NOT_FOUND
            # indistinguishable from an id nobody has
            m = U.call(srv, method, missing, b, **kw)
            assert (m.status_code, m.json()) == (404, U.NOT_FOUND)
        # A still has it, unchanged
        assert U.call(srv, "GET", pa, a).json() == ta
    # invalid bodies do not reveal existence either (lookup before validation)
    r = U.call(srv, "PUT", pa, b, json={"title": ""})
    assert (r.status_code, r.json()) == (404, U.NOT_FOUND)
    r = U.call(srv, "PATCH", pa, b, data="x", headers={"Content-Type": "text/plain"})
    assert (r.status_code, r.json()) == (404, U.NOT_FOUND)

    assert U.call(srv, "GET", "/todo/", b).json() == [tb]
    assert U.call(srv, "GET", "/todo/?limit=10", b).json()["results"] == [tb]
    assert U.call(srv, "GET", "/todo/?limit=10", b).json()["count"] == 1
    assert U.call(srv, "GET", "/todo/", a).json() == [ta]

    # twins: the owners can do all of it
    for method, kw in attempts[:-1]:
        r = U.call(srv, method, pb, b, **kw)
        assert r.status_code == 200, (method, r.text)
    r = U.call(srv, "PUT", pa, a, json={"title": "A edits", "date": "2030-01-01"})
    assert r.status_code == 200 and r.json() == dict(ta, title="A edits", date="2030-01-01")
    assert U.call(srv, "DELETE", pb, b).status_code == 204
    assert U.call(srv, "DELETE", pa, a).status_code == 204
    assert U.call(srv, "GET", "/todo/", a).json() == []
    assert U.call(srv, "GET", "/todo/", b).json() == []


def test_ids_are_unique_across_users(srv, idp_module):
    users = [U.User(idp_module) for _ in range(3)]
    made = {u.sub: [] for u in users}
    for i in range(4):
        for u in users:
            made[u.sub].append(U.create(srv, u, "%s #%d" % (u.sub[-4:], i)))
    all_ids = [t["id"] for ts in made.values() for t in ts]
    assert len(all_ids) == len(set(all_ids)) == 12
    seq = [made[u.sub][i]["id"] for i in range(4) for u in users]
    assert seq == sorted(seq), "ids come from one sequence in creation order"
    user_ids = {made[u.sub][0]["user"] for u in users}
    assert len(user_ids) == 3
    for u in users:
        assert U.call(srv, "GET", "/todo/", u).json() == made[u.sub]
        assert {t["user"] for t in made[u.sub]} == {made[u.sub][0]["user"]}
        # every other user's id is 404 for u
        for v in users:
            if v is u:
                continue
            for t in made[v.sub]:
                assert U.call(srv, "GET", "/todo/%d/" % t["id"], u).status_code == 404


def test_a_users_two_tokens_see_the_same_todos(srv, idp_module):
    """Isolation is by identity, not by token: a second token for the same
    sub is the same user (twin of the tests above)."""
    a1 = U.User(idp_module)
    a2 = U.User(idp_module, sub=a1.sub)
    assert a1.token != a2.token
    t = U.create(srv, a1, "shared by tokens")
    assert U.call(srv, "GET", "/todo/%d/" % t["id"], a2).json() == t
    assert U.call(srv, "GET", "/todo/", a2).json() == [t]
