"""todod scenario 4: concurrent creates from many clients.

8 threads x 25 POSTs over 2 users against --workers 2: every answer is
201, ids are unique, each owner's list holds exactly what it created.
"""

import concurrent.futures
import threading

import pytest

import todod_util as U
from todod_util import todod_module, vd_module  # noqa: F401  (fixtures)

THREADS = 8
PER_THREAD = 25


@pytest.fixture(scope="module")
def srv(todod_module, vd_module):  # noqa: F811
    return todod_module(vd_module.socket, workers=2)


def test_concurrent_creates(srv, idp_module):
    users = [U.User(idp_module), U.User(idp_module)]
    start = threading.Barrier(THREADS)

    def client(k):
        user = users[k % 2]
        # half the clients keep one connection, half open one per request
        sess = U.new_session(keep_alive=True) if k % 4 < 2 else None
        out = []
        start.wait(timeout=10)
        for i in range(PER_THREAD):
            title = "t%d-%d" % (k, i)
            r = U.call(srv, "POST", "/todo/", user, session=sess or U.new_session(),
                       json={"title": title}, timeout=30)
            out.append((r.status_code, r.json() if r.status_code == 201 else r.text, title))
        if sess is not None:
            sess.close()
        return k, out

    with concurrent.futures.ThreadPoolExecutor(THREADS) as ex:
        results = list(ex.map(client, range(THREADS)))

    created = {u.sub: [] for u in users}
    for k, out in results:
        for status, body, title in out:
            assert status == 201, (k, title, status, body)
            assert body["title"] == title
            created[users[k % 2].sub].append(body)
    ids = [t["id"] for ts in created.values() for t in ts]
    assert len(ids) == THREADS * PER_THREAD
    assert len(set(ids)) == len(ids), "duplicate ids"
    for u in users:
        mine = sorted(created[u.sub], key=lambda t: t["id"])
        assert len(mine) == THREADS * PER_THREAD // 2
        assert len({t["user"] for t in mine}) == 1
        listed = U.call(srv, "GET", "/todo/", u).json()
        assert listed == mine
        page = U.call(srv, "GET", "/todo/?limit=1", u).json()
        assert page["count"] == len(mine)
    assert created[users[0].sub][0]["user"] != created[users[1].sub][0]["user"]
