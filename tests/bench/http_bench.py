#!/usr/bin/python3
"""todod HTTP benchmark with wrk, side by side with nginx (loopback only).

Starts the test IdP, verifierd and todod (--workers 2) in a temporary
directory, gets access tokens for two users through the IdP's password
grant (as the seed's curl does), gives the first user 10 todos, then runs
wrk with the same parameters (default -t2 -c64 -d10s --latency) against:

  get     todod: authenticated GET /todo/ of the user with 10 todos
  nginx   nginx (2 worker processes, started here on a free port with a
          config in the temporary directory) answering the very same
          request (Authorization header included) with the very same JSON
          body: `return 200 '...'` and default_type application/json
  post    todod: authenticated POST /todo/ {"title":"bench"} (second user;
          every todo is a synchronous Berkeley DB commit)

get and nginx run in --rounds rounds (default 3), alternating which goes
first, and the todod/nginx ratio for GET (target >= 0.5) is the median of
the rounds' ratios: nginx alone swings by a third from run to run on a
shared box.  One more nginx run without the Authorization header is shown
for reference.  Also reported: p50/p99 latency, requests per second of
server CPU, each todod worker's VmRSS (children of the master) after the
runs.  wrk runs on the same 2 cores as the server it measures, for todod
and for nginx alike; only ratios from one run mean anything on a shared
box.  Every wrk run must be answered 2xx only (a 401 storm is fast and
would flatter the figures): non-2xx answers fail the run.

Usage: /usr/bin/python3 tests/bench/http_bench.py [--threads 2]
       [--connections 64] [--duration 10] [--rounds 3] [--workers 2]
       [--json FILE]
       [--perf DIR] [--syscalls N] [--keep]
Build dir: $TODOD_BUILD_DIR (default: build/ at the top of this tree).  Needs wrk and
nginx (Debian: apt-get install -y wrk nginx-light; tests/deps.sh 1).
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import requests

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verifier_bench import (Procs, build_dir, run_bench,  # noqa
                            proc_rss_kib, proc_sched_s, wait_for)

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PY = "/usr/bin/python3"
AUD = "https://todo.bench.test/"
TARGET_RATIO = 0.5
N_TODOS = 10

# wrk's done() hook prints one machine-readable line; the rest of wrk's
# output (the human summary) is kept for the log.
LUA_COMMON = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"lat_mean_us":%.1f,' ..
    '"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, latency.mean, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def log(msg):
    sys.stderr.write("http_bench: %s\n" % msg)
    sys.stderr.flush()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def lua_quote(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def write_lua(path, token, method="GET", body=None):
    lines = ['wrk.method = %s' % lua_quote(method),
             'wrk.headers["Authorization"] = %s' % lua_quote(
                 "Bearer " + token)]
    if body is not None:
        lines += ['wrk.body = %s' % lua_quote(body),
                  'wrk.headers["Content-Type"] = "application/json"']
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + LUA_COMMON)


def run_wrk(args, url, script, name, work, pids):
    """One wrk run; pids: the server processes whose CPU time is taken."""
    base = settled_sockets(pids)
    before = {p: proc_sched_s(p)[0] for p in pids}
    argv = ["wrk", "-t%d" % args.threads, "-c%d" % args.connections,
            "-d%ds" % args.duration, "--latency", "--timeout", "5s"]
    if script:
        argv += ["-s", script]
    argv.append(url)
    wrk = subprocess.Popen(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(args.duration / 2.0)
        conns = {str(p): socket_count(p) - base[p] for p in pids}
        out, err = wrk.communicate(timeout=args.duration + 60)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    r = subprocess.CompletedProcess(argv, wrk.returncode, out, err)
    with open(os.path.join(work, "wrk-%s.txt" % name), "w") as f:
        f.write(r.stdout + r.stderr)
    m = re.search(r"^WRKJSON (.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit("http_bench: wrk failed on %s" % name)
    res = json.loads(m.group(1))
    res["server_cpu_s"] = {str(p): round(proc_sched_s(p)[0] - before[p], 3)
                           for p in pids}
    cpu = sum(res["server_cpu_s"].values())
    res["server_cpu_s_total"] = round(cpu, 3)
    res["connections_mid_run"] = conns
    res["requests_per_server_cpu_s"] = (round(res["requests"] / cpu, 1)
                                        if cpu > 0 else None)
    secs = res["duration_us"] / 1e6
    res["name"] = name
    res["requests_per_sec"] = round(res["requests"] / secs, 1)
    res["errors"] = sum(res[k] for k in ("connect_errors", "read_errors",
                                         "write_errors", "status_errors",
                                         "timeouts"))
    log("%-6s %s" % (name, json.dumps(res)))
    return res


def nginx_conf(work, port, body, workers, reuseport=False):
    d = os.path.join(work, "nginx")
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    if "'" in body or "$" in body or "\\" in body:
        raise SystemExit("http_bench: body cannot be put in an nginx string")
    conf = """daemon off;
master_process on;
worker_processes %(workers)d;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:%(port)d%(reuseport)s;
        location / {
            default_type application/json;
            return 200 '%(body)s';
        }
    }
}
""" % {"workers": workers, "d": d, "port": port, "body": body,
       "reuseport": " reuseport" if reuseport else ""}
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path, d


def socket_count(pid):
    """Open sockets of pid (for how wrk's connections were spread)."""
    n = 0
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            n += os.readlink(os.path.join(d, fd)).startswith("socket:")
        except OSError:
            pass
    return n


def settled_sockets(pids, timeout=5.0):
    """Socket counts once the previous run's connections are gone (a
    server closes them a little after wrk has)."""
    last = {p: socket_count(p) for p in pids}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = {p: socket_count(p) for p in pids}
        if now == last:
            break
        last = now
    return last


def fsync_rate(directory, seconds=3.0, limit=5000):
    """512-byte pwrite + fdatasync per second, one writer, into a file
    allocated beforehand (as Berkeley DB's log is): the ceiling of
    synchronous commits when each waits for its own flush."""
    path = os.path.join(directory, "fsync-probe")
    size = 1 << 20
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"\0" * size)
        os.fsync(fd)
        n, t0 = 0, time.monotonic()
        while n < limit and time.monotonic() - t0 < seconds:
            os.pwrite(fd, b"x" * 512, (n * 512) % size)
            os.fdatasync(fd)
            n += 1
        return n / (time.monotonic() - t0)
    finally:
        os.close(fd)
        os.unlink(path)


def strace_counts(path):
    """{syscall: calls} from an `strace -c` table."""
    calls = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if (len(fields) >= 5 and fields[0][0].isdigit() and
                    fields[-1] != "total"):
                calls[fields[-1]] = int(fields[3])
    return calls


def syscalls_per_request(n, pids, work, name, send):
    """Exact system calls per request of each server process: strace -c
    on each while n sequential requests go over one keep-alive
    connection (no batching across requests: the worst case)."""
    traces = {}
    for p in pids:
        out = os.path.join(work, "strace-%s-%d.txt" % (name, p))
        traces[p] = (subprocess.Popen(
            ["strace", "-c", "-f", "-p", str(p), "-o", out],
            stderr=subprocess.DEVNULL), out)
    try:
        time.sleep(1.0)
        for i in range(n):
            send(i)
        time.sleep(0.5)
    finally:
        for t, _ in traces.values():
            t.send_signal(signal.SIGINT)
        for t, _ in traces.values():
            t.wait(timeout=30)
    res = {}
    for p, (_, out) in traces.items():
        c = strace_counts(out)
        if sum(c.values()) > 0:
            res[str(p)] = {k: round(v / n, 2) for k, v in
                           sorted(c.items(), key=lambda kv: -kv[1])}
    return res


def syscall_probe(args, api, tokens, pids, work, nginx_url, nginx_pids):
    if not args.syscalls:
        return None
    if shutil.which("strace") is None:
        log("strace missing: --syscalls skipped (apt-get install strace)")
        return None
    sess = requests.Session()
    get_hdr = {"Authorization": "Bearer " + tokens[0]}
    post_hdr = {"Authorization": "Bearer " + tokens[1]}

    def get(i):
        if sess.get(api + "/todo/", headers=get_hdr,
                    timeout=10).status_code != 200:
            raise SystemExit("http_bench: GET failed during --syscalls")

    def post(i):
        if sess.post(api + "/todo/", headers=post_hdr, timeout=10,
                     json={"title": "bench"}).status_code != 201:
            raise SystemExit("http_bench: POST failed during --syscalls")
    def nginx_get(i):
        if sess.get(nginx_url, timeout=10).status_code != 200:
            raise SystemExit("http_bench: nginx failed during --syscalls")
    return {"requests": args.syscalls,
            "get": syscalls_per_request(args.syscalls, pids, work, "get",
                                        get),
            "nginx": syscalls_per_request(args.syscalls, nginx_pids, work,
                                          "nginx", nginx_get),
            "post": syscalls_per_request(args.syscalls, pids, work, "post",
                                         post)}


def worker_pids(master):
    path = "/proc/%d/task/%d/children" % (master, master)
    with open(path) as f:
        return [int(p) for p in f.read().split()]


def get_token(info, ca, email, password):
    r = requests.post(info["token_url"], verify=ca, timeout=30, data={
        "grant_type": "password", "username": email, "password": password,
        "scope": "openid profile email", "audience": AUD,
        "client_id": info["client_id"],
        "client_secret": info["client_secret"]})
    r.raise_for_status()
    return r.json()["access_token"]


def start_stack(args, build, work, procs):
    users = [("get@bench.test", "get-password"),
             ("post@bench.test", "post-password")]
    idp_log = os.path.join(work, "idp.log")
    argv = [PY, os.path.join(TOP, "tests/idp/idp.py"), "--dir",
            os.path.join(work, "idp"), "--audience", AUD]
    for e, p in users:
        argv += ["--user", "%s:%s" % (e, p)]
    idp = procs.start(argv, idp_log)
    info_path = os.path.join(work, "idp", "idp.json")
    wait_for(lambda: os.path.exists(info_path), "the test IdP", idp, idp_log)
    with open(info_path) as f:
        info = json.load(f)
    sock = os.path.join(work, "verifier.sock")
    v_log = os.path.join(work, "verifierd.log")
    vd = procs.start([os.path.join(build, "verifierd/verifierd"),
                      "--socket", sock, "--domain", info["domain"],
                      "--audience", AUD, "--ca-file", info["ca"],
                      "--state-dir", os.path.join(work, "verifierd")], v_log)
    wait_for(lambda: os.path.exists(sock), "verifierd", vd, v_log)
    port = free_port()
    t_log = os.path.join(work, "todod.log")
    td = procs.start([os.path.join(build, "daemon/todod"), "--listen",
                      "127.0.0.1:%d" % port, "--workers", str(args.workers),
                      "--data-dir", os.path.join(work, "data"),
                      "--verifier", sock], t_log)
    api = "http://127.0.0.1:%d" % port

    def up():
        try:
            return requests.get(api + "/", timeout=2).status_code == 200
        except requests.RequestException:
            return False
    wait_for(up, "todod", td, t_log)
    tokens = [get_token(info, info["ca"], e, p) for e, p in users]
    return info, api, td, vd, tokens


def prepare(api, tokens):
    """The GET user gets N_TODOS todos; returns their list's exact body."""
    hdr = {"Authorization": "Bearer " + tokens[0]}
    for i in range(N_TODOS):
        r = requests.post(api + "/todo/", headers=hdr, timeout=10,
                          json={"title": "bench todo %d" % (i + 1)})
        if r.status_code != 201:
            raise SystemExit("http_bench: POST /todo/ answered %d: %s" %
                             (r.status_code, r.text[:200]))
    r = requests.get(api + "/todo/", headers=hdr, timeout=10)
    if r.status_code != 200 or len(r.json()) != N_TODOS:
        raise SystemExit("http_bench: GET /todo/ answered %d: %s" %
                         (r.status_code, r.text[:200]))
    return r.text


def perf_start(args, name, pids, work, procs):
    if not args.perf:
        return None
    data = os.path.join(args.perf, "%s.perf.data" % name)
    return procs.start(["perf", "record", "-q", "-F", "999", "--call-graph",
                        "dwarf,8192", "-o", data, "-p",
                        ",".join(str(p) for p in pids)], data + ".log")


def perf_stop(args, p, name):
    if p is None:
        return
    p.send_signal(signal.SIGINT)
    p.wait(timeout=120)
    data = os.path.join(args.perf, "%s.perf.data" % name)
    for kind, extra in (("flat", ["--no-children", "--sort",
                                  "comm,dso,symbol"]),
                        ("children", ["--children", "--sort",
                                      "comm,symbol"])):
        out = os.path.join(args.perf, "%s.%s.txt" % (name, kind))
        with open(out, "w") as f:
            subprocess.run(["perf", "report", "-i", data, "--stdio", "-g",
                            "none", "--percent-limit", "0.5"] + extra,
                           stdout=f, stderr=subprocess.DEVNULL, timeout=600)
    log("perf profile of %s: %s/%s.{flat,children}.txt" %
        (name, args.perf, name))


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def run(args, build, work, procs):
    info, api, td, vd, tokens = start_stack(args, build, work, procs)
    body = prepare(api, tokens)
    workers = worker_pids(td.pid)
    log("todod master %d, workers %s, verifierd %d; GET body %d bytes" %
        (td.pid, workers, vd.pid, len(body)))
    get_lua = os.path.join(work, "get.lua")
    post_lua = os.path.join(work, "post.lua")
    plain_lua = os.path.join(work, "plain.lua")
    write_lua(get_lua, tokens[0])
    write_lua(post_lua, tokens[1], "POST", '{"title":"bench"}')
    with open(plain_lua, "w") as f:
        f.write(LUA_COMMON)
    nport = free_port()
    nginx_url = "http://127.0.0.1:%d/todo/" % nport
    nconf, ndir = nginx_conf(work, nport, body, args.workers,
                             args.nginx_reuseport)
    ngx = procs.start(["nginx", "-p", ndir, "-e", os.path.join(ndir,
                       "error.log"), "-c", nconf], os.path.join(work,
                                                                "nginx.log"))

    def nginx_up():
        try:
            r = requests.get(nginx_url, timeout=2)
            return r.status_code == 200 and r.text == body
        except requests.RequestException:
            return False
    wait_for(nginx_up, "nginx", ngx, os.path.join(work, "nginx.log"))

    servers = workers + [vd.pid]
    npids = worker_pids(ngx.pid)
    rounds = []
    for i in range(args.rounds):
        # Alternate who goes first, so that a drift in the machine's
        # load over the run does not favour either side.
        rr = {}
        for name in (("get", "nginx") if i % 2 == 0 else ("nginx", "get")):
            tag = "%s#%d" % (name, i + 1)
            if name == "get":
                prof = perf_start(args, "todod-get", servers, work, procs) \
                    if i == 0 else None
                rr[name] = run_wrk(args, api + "/todo/", get_lua, tag, work,
                                   servers)
                if prof is not None:
                    perf_stop(args, prof, "todod-get")
            else:
                # The very same request as todod's, Authorization included.
                rr[name] = run_wrk(args, nginx_url, get_lua, tag, work,
                                   npids)
        rounds.append(rr)
    rows = {"nginx_plain": run_wrk(args, nginx_url, plain_lua, "nginx-plain",
                                   work, npids)}
    prof = perf_start(args, "todod-post", servers, work, procs)
    rows["post"] = run_wrk(args, api + "/todo/", post_lua, "post", work,
                           servers)
    perf_stop(args, prof, "todod-post")
    fsyncs = fsync_rate(os.path.join(work, "data"))
    sysc = syscall_probe(args, api, tokens, servers, work, nginx_url, npids)
    rss = {str(p): proc_rss_kib(p) for p in worker_pids(td.pid)}
    rss_master = proc_rss_kib(td.pid)
    rss_vd = proc_rss_kib(vd.pid)
    # The stack must still be whole and serving the same list.
    r = requests.get(api + "/todo/", timeout=10,
                     headers={"Authorization": "Bearer " + tokens[0]})
    runs = [v for rr in rounds for v in rr.values()] + list(rows.values())
    ok = (r.status_code == 200 and r.text == body and td.poll() is None and
          all(v["errors"] == 0 for v in runs))
    s = summarize(args, rounds, rows, rss, rss_master, rss_vd, len(body), ok,
                  fsyncs)
    if sysc:
        s["syscalls_per_request"] = sysc
    return s


def summarize(args, rounds, rows, rss, rss_master, rss_vd, body_len, ok,
              fsyncs):
    ratios = [rr["get"]["requests_per_sec"] / rr["nginx"]["requests_per_sec"]
              for rr in rounds]
    ratio = median(ratios)

    def med(name, key):
        return median([rr[name][key] for rr in rounds])
    return {
        "ok": ok,
        "config": {"threads": args.threads, "connections": args.connections,
                   "duration_s": args.duration, "workers": args.workers,
                   "rounds": args.rounds, "todos": N_TODOS,
                   "body_bytes": body_len, "cpus": os.cpu_count()},
        "get_requests_per_s": med("get", "requests_per_sec"),
        "get_p99_ms": med("get", "lat_p99_us") / 1000.0,
        "nginx_requests_per_s": med("nginx", "requests_per_sec"),
        "nginx_p99_ms": med("nginx", "lat_p99_us") / 1000.0,
        "nginx_plain_requests_per_s":
            rows["nginx_plain"]["requests_per_sec"],
        "todod_vs_nginx": round(ratio, 3),
        "todod_vs_nginx_rounds": [round(x, 3) for x in ratios],
        "todod_vs_nginx_cpu": round(
            med("get", "requests_per_server_cpu_s") /
            med("nginx", "requests_per_server_cpu_s"), 3),
        "post_requests_per_s": rows["post"]["requests_per_sec"],
        "post_p99_ms": rows["post"]["lat_p99_us"] / 1000.0,
        "fdatasync_per_s_1_writer": round(fsyncs, 1),
        "post_vs_fdatasync": round(rows["post"]["requests_per_sec"] / fsyncs,
                                   3),
        "worker_rss_kib": rss,
        "master_rss_kib": rss_master,
        "verifierd_rss_kib": rss_vd,
        "targets": {"todod_vs_nginx_ge_0.5": ratio >= TARGET_RATIO},
        "rounds": rounds,
        "runs": rows,
    }


def print_row(label, r):
    print("%-18s %9d %8.0f %7.2f %8.2f %6d %11s  %s" % (
        label, r["requests"], r["requests_per_sec"],
        r["lat_p50_us"] / 1000.0, r["lat_p99_us"] / 1000.0, r["errors"],
        "%.0f" % r["requests_per_server_cpu_s"]
        if r["requests_per_server_cpu_s"] else "-",
        " ".join("%s:%.2f" % kv for kv in r["server_cpu_s"].items())))


def print_table(s):
    print("%-18s %9s %8s %7s %8s %6s %11s  %s" % (
        "run", "requests", "req/s", "p50 ms", "p99 ms", "errors",
        "req/srv-cpu", "server CPU s per process"))
    for i, rr in enumerate(s["rounds"]):
        print_row("todod GET #%d" % (i + 1), rr["get"])
        print_row("nginx GET #%d" % (i + 1), rr["nginx"])
    print_row("nginx, no token", s["runs"]["nginx_plain"])
    print_row("todod POST /todo/", s["runs"]["post"])
    c = s["config"]
    print()
    print("wrk -t%d -c%d -d%ds --latency for every run; wrk shares the %d "
          "CPUs with the server it measures, for todod and nginx alike." % (
              c["threads"], c["connections"], c["duration_s"], c["cpus"]))
    print("GET: authenticated GET /todo/ (10 todos, %d-byte body); nginx "
          "answers the very same request (Authorization header included) "
          "with the same body; 'no token' leaves the header out." %
          c["body_bytes"])
    print("server CPU s per process: todod workers then verifierd; nginx "
          "workers.  req/srv-cpu: requests per second of server CPU.")
    print("todod/nginx GET ratio per round: %s; median %.2f (target >= %.1f: "
          "%s); per server CPU-second: %.2f" % (
              " ".join("%.2f" % x for x in s["todod_vs_nginx_rounds"]),
              s["todod_vs_nginx"], TARGET_RATIO,
              "met" if s["targets"]["todod_vs_nginx_ge_0.5"] else "MISSED",
              s["todod_vs_nginx_cpu"]))
    for i, rr in enumerate(s["rounds"]):
        print("connections per server process mid-run, round %d: todod %s; "
              "nginx %s" % (i + 1, " ".join(
                  "%s:%d" % kv for kv in rr["get"]["connections_mid_run"]
                  .items()), " ".join(
                  "%s:%d" % kv for kv in rr["nginx"]["connections_mid_run"]
                  .items())))
    print("POST: %.0f/s; data dir reference (1 writer, 512 B pwrite + "
          "fdatasync): %.0f/s; ratio %.2f" % (
              s["post_requests_per_s"], s["fdatasync_per_s_1_writer"],
              s["post_vs_fdatasync"]))
    print("RSS: workers %s KiB, master %d KiB, verifierd %d KiB" % (
        ", ".join("%s=%d" % kv for kv in sorted(s["worker_rss_kib"].items())),
        s["master_rss_kib"], s["verifierd_rss_kib"]))
    sc = s.get("syscalls_per_request")
    if sc:
        print("system calls per request (strace -c, %d sequential requests "
              "on one connection):" % sc["requests"])
        for name in ("get", "nginx", "post"):
            for pid, calls in sc[name].items():
                print("  %-5s pid %-7s %5.1f total: %s" % (
                    name.upper(), pid, sum(calls.values()),
                    " ".join("%s=%g" % kv for kv in calls.items())))
    print()
    print(json.dumps({k: v for k, v in s.items()
                      if k not in ("rounds", "runs", "syscalls_per_request")},
                     sort_keys=True))


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="wrk -t (2)")
    ap.add_argument("--connections", type=int, default=64,
                    help="wrk -c (64)")
    ap.add_argument("--duration", type=int, default=10,
                    help="wrk -d seconds (10)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of todod GET and nginx GET, alternating "
                    "which goes first; the ratio is the median (3)")
    ap.add_argument("--nginx-reuseport", action="store_true",
                    help="nginx listens with reuseport (one socket per "
                    "worker, as todod binds it) instead of its default "
                    "shared socket")
    ap.add_argument("--workers", type=int, default=2,
                    help="todod workers and nginx worker_processes (2)")
    ap.add_argument("--json", metavar="FILE", help="also write the summary")
    ap.add_argument("--perf", metavar="DIR",
                    help="perf record todod's workers and verifierd during "
                    "the todod runs; data and reports go to DIR")
    ap.add_argument("--syscalls", type=int, default=0, metavar="N",
                    help="after the runs, count system calls per request "
                    "with strace -c over N sequential GETs and POSTs "
                    "(deterministic, unlike rates on a shared box)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (logs, wrk output)")
    a = ap.parse_args(argv)
    if not (1 <= a.threads <= a.connections <= 10000):
        ap.error("need 1 <= --threads <= --connections <= 10000")
    if not (1 <= a.duration <= 600) or not (1 <= a.workers <= 64) or \
            not (1 <= a.rounds <= 20):
        ap.error("--duration 1..600, --workers 1..64, --rounds 1..20")
    return a


def main(argv=None):
    args = parse_args(argv)
    build = build_dir()
    for exe in ("verifierd/verifierd", "daemon/todod"):
        if not os.access(os.path.join(build, exe), os.X_OK):
            raise SystemExit("http_bench: %s/%s missing; build it with "
                             "ninja -C %s" % (build, exe, build))
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not os.path.exists(
                "/usr/sbin/" + tool):
            raise SystemExit("http_bench: %s missing: apt-get install -y "
                             "wrk nginx-light" % tool)
    os.environ["PATH"] += ":/usr/sbin"
    if args.perf:
        os.makedirs(args.perf, exist_ok=True)
    return run_bench(args, build, "todod-httpbench.", run, print_table)


if __name__ == "__main__":
    sys.exit(main())
