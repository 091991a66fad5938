#!/usr/bin/python3
"""verifierd throughput and memory benchmark (loopback only).

Starts the test IdP (tests/idp/idp.py) and verifierd in a temporary
directory, provisions --users users, mints RS256 access tokens for them
with the IdP's private key (multiprocessing: RSA signing in Python is the
slow part), then drives verifierd with tests/bench/vbench:

  fresh       tokens of known users never seen before: one RS256
              verification each (target >= 15k answers/s)
  cached      the same tokens again, now answered from the cache
              (target >= 40k answers/s)
  fresh-rss   the rest of the --rss-tokens set, also fresh
  cached-rss  the whole --rss-tokens set again from the cache
  RSS         verifierd's VmRSS after provisioning and after --rss-tokens
              distinct cached tokens (target <= 64 MiB)

and, in the same run, `openssl speed -seconds 3 rsa2048` as a reference:
the fresh rate is reported as a fraction of one core's RSA-2048 verify/s
and of two cores' (verifierd is one event loop, so one core is its ceiling).

Rates are wall-clock answers/s.  Because the box is shared and noisy, each
row also gives verifierd's own CPU time for the phase and answers per
verifierd CPU-second, which is steadier than the wall rate.

Usage: /usr/bin/python3 tests/bench/verifier_bench.py [--quick] [--fresh N]
       [--rss-tokens N] [--users N] [--window N] [--connections C]
       [--repeat R] [--procs P] [--json FILE] [--perf DIR]
       [--callgrind DIR] [--keep]
Build dir: $TODOD_BUILD_DIR (default: build/ at the top of this tree).
"""

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PY = "/usr/bin/python3"
AUD = "https://todo.bench.test/"
SCOPE = "openid profile email"
TARGET_CACHED = 40000.0
TARGET_FRESH = 15000.0
TARGET_RSS_MIB = 64.0
START_TIMEOUT = 60.0


def log(msg):
    sys.stderr.write("verifier_bench: %s\n" % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------------------
# Minting (runs in pool workers: the key is loaded once per process)

_MINT = {}


def _mint_init(pem_path, kid, issuer, subs, prefix):
    with open(pem_path, "rb") as f:
        _MINT["key"] = serialization.load_pem_private_key(f.read(), None)
    _MINT.update(kid=kid, issuer=issuer, subs=subs, prefix=prefix)


def _mint_range(bounds):
    lo, hi = bounds
    now = int(time.time())
    subs = _MINT["subs"]
    out = []
    for i in range(lo, hi):
        claims = {"iss": _MINT["issuer"], "sub": subs[i % len(subs)],
                  "aud": [AUD], "iat": now, "exp": now + 3600,
                  "scope": SCOPE, "jti": "%s-%d" % (_MINT["prefix"], i)}
        out.append(jwt.encode(claims, _MINT["key"], algorithm="RS256",
                              headers={"kid": _MINT["kid"]}))
    return out


def mint(info, n, procs):
    """n distinct RS256 access tokens, round-robin over the IdP's users."""
    key = next(k for k in info["keys"] if k["kid"] == info["current_kid"])
    subs = [u["sub"] for u in info["users"]]
    step = 1000
    chunks = [(lo, min(lo + step, n)) for lo in range(0, n, step)]
    init = (key["pem"], key["kid"], info["issuer"], subs,
            uuid.uuid4().hex[:12])
    t0 = time.monotonic()
    with multiprocessing.Pool(procs, _mint_init, init) as pool:
        tokens = [t for part in pool.imap(_mint_range, chunks) for t in part]
    dt = time.monotonic() - t0
    log("minted %d tokens in %.1f s (%.0f/s over %d processes)" %
        (n, dt, n / dt if dt > 0 else 0, procs))
    return tokens


# ---------------------------------------------------------------------------
# Processes

class Procs:
    """Every process started here; stop() ends them all (bounded)."""

    def __init__(self):
        self.procs = []

    def start(self, argv, logpath):
        logf = open(logpath, "wb")
        p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        logf.close()
        self.procs.append(p)
        return p

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def wait_for(pred, what, proc, logpath, timeout=START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not pred():
        if proc.poll() is not None or time.monotonic() > deadline:
            with open(logpath, errors="replace") as f:
                sys.stderr.write(f.read()[-4000:])
            raise SystemExit("verifier_bench: %s did not start" % what)
        time.sleep(0.1)


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_sched_s(pid):
    """(CPU seconds, seconds spent runnable but waiting for a CPU)."""
    with open("/proc/%d/schedstat" % pid) as f:
        run_ns, wait_ns = f.read().split()[:2]
    return int(run_ns) / 1e9, int(wait_ns) / 1e9


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# ---------------------------------------------------------------------------
# Measurements

def openssl_rsa2048():
    """(sign/s, verify/s) of one core, from openssl speed."""
    out = subprocess.run(["openssl", "speed", "-seconds", "3", "rsa2048"],
                         capture_output=True, text=True, timeout=120,
                         check=True).stdout
    for line in out.splitlines():
        if line.startswith("rsa 2048 bits"):
            f = line.split()
            return float(f[-2]), float(f[-1])
    raise RuntimeError("no rsa 2048 line in openssl speed output")


def vbench(build, sock, path, args, repeat, expect_accepted, pid):
    argv = [os.path.join(build, "tests/bench/vbench"), "--socket", sock,
            "--tokens", path, "--window", str(args.window),
            "--connections", str(args.connections), "--repeat", str(repeat),
            "--timeout", "600"]
    if expect_accepted:
        argv.append("--expect-accepted")
    cpu0, wait0 = proc_sched_s(pid)
    ru0 = os.times()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=660)
    ru1 = os.times()
    cpu1, wait1 = proc_sched_s(pid)
    if r.stderr:
        sys.stderr.write(r.stderr)
    if not r.stdout.strip():
        raise SystemExit("verifier_bench: vbench printed nothing (exit %d)"
                         % r.returncode)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["exit"] = r.returncode
    res["verifierd_cpu_s"] = round(cpu1 - cpu0, 3)
    res["verifierd_runq_wait_s"] = round(wait1 - wait0, 3)
    res["loadavg_1min"] = loadavg()
    res["vbench_cpu_s"] = round((ru1.children_user - ru0.children_user) +
                                (ru1.children_system -
                                 ru0.children_system), 3)
    res["answers_per_verifierd_cpu_s"] = (
        round(res["answers"] / res["verifierd_cpu_s"], 1)
        if res["verifierd_cpu_s"] > 0 else None)
    if r.returncode != 0:
        log("vbench exit %d on %s" % (r.returncode, os.path.basename(path)))
    return res


def perf_start(outdir, name, pid, procs):
    """perf record (cpu-clock samples) on verifierd for one phase."""
    if not outdir:
        return None
    data = os.path.join(outdir, "verifierd-%s.perf.data" % name)
    p = procs.start(["perf", "record", "-q", "-F", "999", "--call-graph",
                     "dwarf,8192", "-o", data, "-p", str(pid)], data + ".log")
    time.sleep(0.5)
    return p


def perf_stop(p, outdir, name):
    if p is None:
        return
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    data = os.path.join(outdir, "verifierd-%s.perf.data" % name)
    for kind, extra in (("flat", ["--no-children", "--sort", "dso,symbol",
                                  "-g", "none"]),
                        ("children", ["--children", "--sort", "symbol",
                                      "-g", "none"])):
        out = os.path.join(outdir, "verifierd-%s.%s.txt" % (name, kind))
        with open(out, "w") as f:
            subprocess.run(["perf", "report", "-i", data, "--stdio",
                            "--percent-limit", "0.5"] + extra, stdout=f,
                           stderr=subprocess.DEVNULL, timeout=300)
    log("perf profile of phase %s: %s/verifierd-%s.{flat,children}.txt" %
        (name, outdir, name))


def callgrind_ctl(outdir, op, pid):
    """Zero (-z) or dump (-d) verifierd's callgrind counters."""
    if outdir:
        subprocess.run(["callgrind_control", op, str(pid)],
                       stdout=subprocess.DEVNULL, timeout=120, check=True)


def callgrind_reports(outdir, pid, phases):
    """One callgrind_annotate report per phase (dumps come in order)."""
    if not outdir:
        return
    for i, name in enumerate(phases, 1):
        dump = os.path.join(outdir, "callgrind.out.%d.%d" % (pid, i))
        for kind, incl in (("self", "no"), ("inclusive", "yes")):
            out = os.path.join(outdir, "verifierd-%s.%s.txt" % (name, kind))
            with open(out, "w") as f:
                subprocess.run(["callgrind_annotate", "--inclusive=" + incl,
                                "--threshold=99", dump], stdout=f,
                               stderr=subprocess.DEVNULL, timeout=300)
    log("callgrind reports: %s/verifierd-PHASE.{self,inclusive}.txt" %
        outdir)


def write_tokens(path, tokens):
    with open(path, "w") as f:
        f.write("\n".join(tokens))
        f.write("\n")


def provision(build, sock, tokens):
    for t in tokens:
        r = subprocess.run([os.path.join(build, "verifierd/todo-verify"),
                            "--socket", sock, t], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise SystemExit("verifier_bench: provisioning failed: %s" %
                             r.stdout.strip())


# ---------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--fresh", type=int, default=20000,
                    help="fresh tokens for the fresh/cached rows (20000)")
    ap.add_argument("--rss-tokens", type=int, default=100000,
                    help="distinct cached tokens for the RSS row (100000)")
    ap.add_argument("--repeat", type=int, default=5,
                    help="passes over the fresh set in the cached row (5)")
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 2,
                    help="minting processes (default: CPUs)")
    ap.add_argument("--quick", action="store_true",
                    help="--fresh 5000 --rss-tokens 20000 (smoke run)")
    ap.add_argument("--json", metavar="FILE", help="also write the summary")
    ap.add_argument("--perf", metavar="DIR",
                    help="profile verifierd with perf record during each "
                    "phase; data and reports go to DIR")
    ap.add_argument("--callgrind", metavar="DIR",
                    help="run verifierd under valgrind --tool=callgrind and "
                    "dump one profile per phase to DIR (slow: use small "
                    "counts; rates and RSS are then meaningless)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (logs)")
    a = ap.parse_args(argv)
    if a.quick:
        a.fresh, a.rss_tokens = 5000, 20000
    for name in ("users", "fresh", "rss_tokens", "repeat", "window",
                 "connections", "procs"):
        if getattr(a, name) < 1:
            ap.error("--%s must be at least 1" % name.replace("_", "-"))
    if a.fresh > 1000000 or a.rss_tokens > 1000000:
        ap.error("at most 1000000 tokens")
    return a


def start_daemons(args, build, work, procs):
    users = ["bench%d@bench.test:bench-password-%d" % (i, i)
             for i in range(args.users)]
    idp_log = os.path.join(work, "idp.log")
    argv = [PY, os.path.join(TOP, "tests/idp/idp.py"), "--dir",
            os.path.join(work, "idp"), "--audience", AUD]
    for u in users:
        argv += ["--user", u]
    idp = procs.start(argv, idp_log)
    info_path = os.path.join(work, "idp", "idp.json")
    wait_for(lambda: os.path.exists(info_path), "the test IdP", idp, idp_log)
    with open(info_path) as f:
        info = json.load(f)
    sock = os.path.join(work, "verifier.sock")
    v_log = os.path.join(work, "verifierd.log")
    cache = max(250000, 2 * (args.rss_tokens + args.fresh))
    wrap = []
    if args.callgrind:
        wrap = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" +
                os.path.join(args.callgrind, "callgrind.out.%p")]
    vd = procs.start(wrap + [os.path.join(build, "verifierd/verifierd"),
                      "--socket", sock, "--domain", info["domain"],
                      "--audience", AUD, "--ca-file", info["ca"],
                      "--state-dir", os.path.join(work, "verifierd"),
                      "--cache-size", str(cache)], v_log)
    wait_for(lambda: os.path.exists(sock), "verifierd", vd, v_log)
    return info, sock, vd, cache


def run(args, build, work, procs):
    info, sock, vd, cache = start_daemons(args, build, work, procs)
    n_all = max(args.fresh, args.rss_tokens)
    tokens = mint(info, len(info["users"]) + n_all, args.procs)
    prov, tokens = tokens[:len(info["users"])], tokens[len(info["users"]):]
    provision(build, sock, prov)
    log("provisioned %d users" % len(prov))
    sign_s, verify_s = openssl_rsa2048()
    log("openssl speed rsa2048: %.0f sign/s, %.0f verify/s (one core)" %
        (sign_s, verify_s))
    files = {}
    for name, toks in (("fresh", tokens[:args.fresh]),
                       ("extra", tokens[args.fresh:]), ("all", tokens)):
        files[name] = os.path.join(work, "%s.tokens" % name)
        write_tokens(files[name], toks)
    rss0 = proc_rss_kib(vd.pid)
    rows = []

    def phase(name, path, repeat=1):
        prof = perf_start(args.perf, name, vd.pid, procs)
        callgrind_ctl(args.callgrind, "-z", vd.pid)
        res = vbench(build, sock, path, args, repeat, True, vd.pid)
        callgrind_ctl(args.callgrind, "-d", vd.pid)
        perf_stop(prof, args.perf, name)
        res["phase"] = name
        rows.append(res)
        log("%-10s %s" % (name, json.dumps(res)))
        return res

    fresh = phase("fresh", files["fresh"])
    cached = phase("cached", files["fresh"], args.repeat)
    if args.rss_tokens > args.fresh:
        phase("fresh-rss", files["extra"])
    phase("cached-rss", files["all"])
    rss1 = proc_rss_kib(vd.pid)
    callgrind_reports(args.callgrind, vd.pid, [r["phase"] for r in rows])
    ok = all(r["exit"] == 0 for r in rows) and vd.poll() is None
    return summarize(args, rows, fresh, cached, rss0, rss1, n_all,
                     sign_s, verify_s, cache, ok)


def summarize(args, rows, fresh, cached, rss0, rss1, n_all, sign_s,
              verify_s, cache, ok):
    fr = fresh["answers_per_sec"]
    s = {
        "ok": ok,
        "config": {"users": args.users, "fresh": args.fresh,
                   "rss_tokens": n_all, "repeat": args.repeat,
                   "window": args.window, "connections": args.connections,
                   "cache_size": cache, "cpus": os.cpu_count()},
        "openssl_rsa2048_sign_per_s": sign_s,
        "openssl_rsa2048_verify_per_s": verify_s,
        "cached_answers_per_s": cached["answers_per_sec"],
        "fresh_answers_per_s": fr,
        "fresh_vs_openssl_1core": round(fr / verify_s, 3),
        "fresh_vs_openssl_2cores": round(fr / (2 * verify_s), 3),
        "fresh_answers_per_verifierd_cpu_s":
            fresh["answers_per_verifierd_cpu_s"],
        "cached_answers_per_verifierd_cpu_s":
            cached["answers_per_verifierd_cpu_s"],
        "fresh_per_cpu_vs_openssl_1core":
            round((fresh["answers_per_verifierd_cpu_s"] or 0) / verify_s, 3),
        "rss_before_kib": rss0,
        "rss_after_kib": rss1,
        "rss_after_mib": round(rss1 / 1024.0, 1),
        "rss_bytes_per_cached_token": round((rss1 - rss0) * 1024.0 / n_all, 1),
        "targets": {
            "cached_ge_40k": cached["answers_per_sec"] >= TARGET_CACHED,
            "fresh_ge_15k": fr >= TARGET_FRESH,
            "rss_le_64mib": rss1 / 1024.0 <= TARGET_RSS_MIB,
        },
        "phases": rows,
    }
    return s


def print_table(s):
    print("%-11s %8s %7s %10s %8s %9s %12s %5s %4s" % (
        "phase", "answers", "seconds", "answers/s", "vd-cpu-s",
        "vd-wait-s", "ans/vd-cpu-s", "load", "exit"))
    for r in s["phases"]:
        print("%-11s %8d %7.2f %10.0f %8.2f %9.2f %12s %5.1f %4d" % (
            r["phase"], r["answers"], r["seconds"], r["answers_per_sec"],
            r["verifierd_cpu_s"], r["verifierd_runq_wait_s"],
            "%.0f" % r["answers_per_verifierd_cpu_s"]
            if r["answers_per_verifierd_cpu_s"] else "-",
            r["loadavg_1min"], r["exit"]))
    t = s["targets"]
    v = s["openssl_rsa2048_verify_per_s"]
    print()
    print("openssl speed rsa2048 (1 core): %.0f verify/s, %.0f sign/s" % (
        v, s["openssl_rsa2048_sign_per_s"]))
    print("fresh  %8.0f/s = %.2f x openssl 1 core, %.2f x 2 cores  "
          "(target >= 15000: %s)" % (
              s["fresh_answers_per_s"], s["fresh_vs_openssl_1core"],
              s["fresh_vs_openssl_2cores"],
              "met" if t["fresh_ge_15k"] else "MISSED"))
    print("       %8.0f per verifierd CPU-second = %.2f x openssl 1 core" % (
        s["fresh_answers_per_verifierd_cpu_s"] or 0,
        s["fresh_per_cpu_vs_openssl_1core"]))
    print("cached %8.0f/s  (target >= 40000: %s); %.0f per verifierd "
          "CPU-second" % (s["cached_answers_per_s"],
                          "met" if t["cached_ge_40k"] else "MISSED",
                          s["cached_answers_per_verifierd_cpu_s"] or 0))
    print("RSS    %.1f MiB -> %.1f MiB after %d cached tokens "
          "(%.0f B/token; target <= 64 MiB: %s)" % (
              s["rss_before_kib"] / 1024.0, s["rss_after_mib"],
              s["config"]["rss_tokens"], s["rss_bytes_per_cached_token"],
              "met" if t["rss_le_64mib"] else "MISSED"))
    print()
    print(json.dumps({k: v for k, v in s.items() if k != "phases"},
                     sort_keys=True))


def main(argv=None):
    args = parse_args(argv)
    build = build_dir()
    for exe in ("verifierd/verifierd", "verifierd/todo-verify",
                "tests/bench/vbench"):
        if not os.access(os.path.join(build, exe), os.X_OK):
            raise SystemExit("verifier_bench: %s/%s missing; build it with "
                             "ninja -C %s" % (build, exe, build))
    for d in (args.perf, args.callgrind):
        if d:
            os.makedirs(d, exist_ok=True)
    return run_bench(args, build, "todod-vbench.", run, print_table)


def build_dir():
    """$TODOD_BUILD_DIR, or the build/ directory of this checkout."""
    return os.environ.get("TODOD_BUILD_DIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"))


def run_bench(args, build, prefix, run_fn, print_fn):
    """Runs run_fn in a temporary directory, always stopping what it
    started; prints the table and writes --json.  Exit 0 if all ran."""
    work = tempfile.mkdtemp(prefix=prefix)
    procs = Procs()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        s = run_fn(args, build, work, procs)
    finally:
        procs.stop()
        if args.keep:
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_fn(s)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(s, f, indent=1, sort_keys=True)
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
