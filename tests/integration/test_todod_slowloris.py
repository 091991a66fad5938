"""todod scenario 10: slowloris.

todod --workers 1 --max-conns 16 --header-timeout 3.  40 raw connections
each trickle a request line at 1 byte/s.  Meanwhile a real client gets
every answer within a few seconds, and the server closes every trickling
connection within header-timeout + a margin of its opening.
"""

import select
import socket
import threading
import time

import todod_util as U
from todod_util import todod  # noqa: F401  (fixture: closes sessions first)

HEADER_TIMEOUT = 3
MARGIN = 2.5
N_SLOW = 40
LINE = b"GET /todo/ HTTP/1.1\r\nHost: slow\r\n"


class Trickler(threading.Thread):
    """Opens N_SLOW connections and sends one byte per second on each;
    records when the server closed each one."""

    def __init__(self, srv, duration):
        super().__init__(daemon=True)
        self.srv, self.duration = srv, duration
        self.opened, self.closed, self.answered = {}, {}, {}
        self.socks = []

    def run(self):
        for i in range(N_SLOW):
            s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
            s.setblocking(False)
            self.socks.append(s)
            self.opened[i] = time.monotonic()
        end = time.monotonic() + self.duration
        sent = 0
        next_send = time.monotonic()
        while time.monotonic() < end and len(self.closed) < N_SLOW:
            now = time.monotonic()
            if now >= next_send:
                for i, s in enumerate(self.socks):
                    if i in self.closed:
                        continue
                    try:
                        s.send(LINE[sent % len(LINE):sent % len(LINE) + 1])
                    except OSError:
                        self.closed[i] = now
                sent += 1
                next_send += 1.0
            live = [s for i, s in enumerate(self.socks) if i not in self.closed]
            readable, _, _ = select.select(live, [], [], 0.05)
            for s in readable:
                i = self.socks.index(s)
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data:
                    self.answered[i] = data[:60]
                else:
                    self.closed[i] = time.monotonic()
        for s in self.socks:
            s.close()


def test_slowloris_does_not_starve_real_clients(idp, vd, todod):
    srv = todod(vd.socket, workers=1, args=["--max-conns", 16, "--header-timeout",
                                           HEADER_TIMEOUT])
    user = U.User(idp)
    t = U.create(srv, user, "real")
    slow = Trickler(srv, duration=HEADER_TIMEOUT + MARGIN + 2)
    slow.start()
    deadline = time.monotonic() + 1.0
    while len(slow.opened) < N_SLOW and time.monotonic() < deadline + 5:
        time.sleep(0.05)
    assert len(slow.opened) == N_SLOW
    # the real client, new connection per request, for the whole attack
    lat = []
    end = time.monotonic() + HEADER_TIMEOUT + 1.5
    while time.monotonic() < end:
        t0 = time.monotonic()
        r = U.call(srv, "GET", "/todo/%d/" % t["id"], user, session=U.new_session(), timeout=5)
        lat.append(time.monotonic() - t0)
        assert r.status_code == 200 and r.json() == t
        time.sleep(0.2)
    # and one keep-alive client
    ka = U.new_session(keep_alive=True)
    for _ in range(3):
        assert U.call(srv, "GET", "/todo/", user, session=ka, timeout=5).status_code == 200
    ka.close()
    assert max(lat) < 2.0, lat
    slow.join(HEADER_TIMEOUT + MARGIN + 10)
    assert not slow.is_alive()
    late = {i: round(slow.closed[i] - slow.opened[i], 1) if i in slow.closed else None
            for i in range(N_SLOW)
            if i not in slow.closed or slow.closed[i] - slow.opened[i] > HEADER_TIMEOUT + MARGIN}
    assert not late, "trickling connections not closed in %ss: %r" % (
        HEADER_TIMEOUT + MARGIN, late)
    # none of them got an answer to a request they never finished (a 408
    # before closing would be fine too)
    assert all(v.startswith(b"HTTP/1.1 4") for v in slow.answered.values()), slow.answered
    srv.daemon.assert_alive()


def test_header_timeout_closes_trickling_connections_below_the_cap(idp, vd, todod):
    """Without the cap's evictions: 4 trickling connections are closed by
    --header-timeout itself (not much earlier, not much later), while a
    request that trickles in but completes within the timeout is answered
    (the twin)."""
    srv = todod(vd.socket, workers=1, args=["--max-conns", 16, "--header-timeout",
                                           HEADER_TIMEOUT])
    user = U.User(idp)
    socks = [U.raw_connect(srv) for _ in range(4)]
    opened = time.monotonic()
    req = ("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer %s\r\n\r\n"
           % user.token).encode()
    good = U.raw_connect(srv)
    closed = {}
    try:
        # the twin: the whole request in 4 pieces over ~1.5 s
        for k in range(4):
            good.sendall(req[k * len(req) // 4:(k + 1) * len(req) // 4])
            for i, s in enumerate(socks):
                s.sendall(LINE[k:k + 1])
            time.sleep(0.5)
        status, _, body = U.read_response(good)
        assert status == 200, body
        deadline = opened + HEADER_TIMEOUT + MARGIN
        while len(closed) < len(socks) and time.monotonic() < deadline:
            live = [s for i, s in enumerate(socks) if i not in closed]
            readable, _, _ = select.select(live, [], [], 0.1)
            for s in readable:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    closed[socks.index(s)] = time.monotonic() - opened
    finally:
        good.close()
        for s in socks:
            s.close()
    assert len(closed) == len(socks), closed
    # (the worker counts whole seconds, so "3 s" can be a little over 2 s)
    assert all(HEADER_TIMEOUT - 1.1 <= t <= HEADER_TIMEOUT + MARGIN
               for t in closed.values()), closed
