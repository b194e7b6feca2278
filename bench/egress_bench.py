#!/usr/bin/python3
"""Egress hop benchmark: a request through bottle's egress vs straight to the upstream.

    egress_bench.py FIXTURE ADDON [--quick] [--profile]

FIXTURE is build-rel/bench/bench_fixture (it renders the routes file and prints the exact
mitmdump command line bottle runs egress with), ADDON is tests/oracle/egress-addon/
bottle_egress.py. Everything runs on 127.0.0.1 with certificates made here; the tokens
are made-up test strings and are never printed.

Three ways to the same HTTPS upstream, interleaved (each round runs every mode, in an
order that rotates from round to round):
  direct   the client connects to the upstream itself: CONNECT, then TLS, then HTTP/1.1
  egress   the client goes through mitmdump with bottle's addon, as a bottle does:
           CONNECT to egress, TLS with egress's CA; egress sends the request on through
           its parent proxy (--mode upstream, which is how bottle runs it with pipelock)
  mitm     the same mitmdump command without the addon (plus stream_large_bodies=1, so
           responses stream as the addon makes them): what mitmproxy alone costs
The upstream plays the parent proxy as well (it accepts CONNECT, then speaks TLS), so
no extra process sits on the egress path. Egress requests carry the route's dummy
Authorization header and the upstream answers 401 unless it receives the real value,
so every measured egress request also proves the swap happened.

Figures: request latency on a new connection and on a kept-alive one (p50/p99),
back-to-back small requests on one keep-alive connection (requests/s), and a large
SSE-like streamed response (MB/s). Markdown goes to stdout, progress to stderr.
--profile also runs egress under cProfile and prints where its time goes.
"""
import http.client
import http.server
import json
import os
import pstats
import secrets
import signal
import socket
import socketserver
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

MIB = 1024 * 1024


def log(msg):
    print(f"[egress_bench] {msg}", file=sys.stderr, flush=True)


# --- upstream ---------------------------------------------------------------------------

def run_upstream(cert, key, port_file, real_token):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    expected = "Bearer " + real_token
    event = b"data: " + json.dumps({"type": "delta", "text": "x" * 200}).encode() + b"\n\n"
    chunk = b"%x\r\n%s\r\n" % (len(event), event)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path.startswith("/stream/"):
                # SSE-like: one small event per chunk, written 64 events at a time.
                total = int(self.path.rsplit("/", 1)[1])
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                batch = chunk * 64
                for _ in range(total // len(batch)):
                    self.wfile.write(batch)
                self.wfile.write(b"0\r\n\r\n")
                return
            if self.path.startswith("/bulk/"):
                # A download: Content-Length, written 64 KiB at a time.
                total = int(self.path.rsplit("/", 1)[1])
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(total))
                self.end_headers()
                block = b"x" * 65536
                for _ in range(total // len(block)):
                    self.wfile.write(block)
                return
            body = b'{"ok":true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Tunnel(socketserver.BaseRequestHandler):
        def handle(self):
            sock = self.request
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            head = b""
            while b"\r\n\r\n" not in head:
                data = sock.recv(4096)
                if not data:
                    return
                head += data
            if not head.startswith(b"CONNECT "):
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            try:
                tls = ctx.wrap_socket(sock, server_side=True)
                Handler(tls, self.client_address, self.server)
            except (OSError, ssl.SSLError):
                pass

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Tunnel)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


# --- client ------------------------------------------------------------------------------

class Mode:
    def __init__(self, name, port, cafile, token, upstream_port):
        self.name, self.port, self.token, self.upstream_port = name, port, token, upstream_port
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        target = f"127.0.0.1:{self.upstream_port}"
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(4096)
            if not data:
                raise RuntimeError(f"{self.name}: connection closed during CONNECT")
            head += data
        if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
            raise RuntimeError(f"{self.name}: CONNECT answered {head.splitlines()[0]!r}")
        tls = self.ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port)
        conn.sock = tls
        return conn

    def get(self, conn, path, block=65536):
        conn.request("GET", path, headers=self.headers)
        response = conn.getresponse()
        size = 0
        while True:
            data = response.read(block)
            if not data:
                break
            size += len(data)
        if response.status != 200:
            raise RuntimeError(f"{self.name}: GET {path} -> {response.status}")
        return size


def rotated(modes, r):
    k = r % len(modes)
    return modes[k:] + modes[:k]


def pct(values, p):
    values = sorted(values)
    pos = p * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def bench_fresh(modes, rounds):
    times = {m.name: [] for m in modes}
    for r in range(rounds):
        for m in rotated(modes, r):
            t0 = time.perf_counter()
            conn = m.connect()
            m.get(conn, "/small")
            conn.close()
            times[m.name].append((time.perf_counter() - t0) * 1000)
    return times


def bench_keepalive(modes, rounds):
    conns = {m.name: m.connect() for m in modes}
    for m in modes:  # warm-up
        for _ in range(20):
            m.get(conns[m.name], "/small")
    times = {m.name: [] for m in modes}
    for r in range(rounds):
        for m in rotated(modes, r):
            t0 = time.perf_counter()
            m.get(conns[m.name], "/small")
            times[m.name].append((time.perf_counter() - t0) * 1000)
    for c in conns.values():
        c.close()
    return times


def bench_burst(modes, rounds, count):
    """Requests per second, `count` back to back on one keep-alive connection."""
    conns = {m.name: m.connect() for m in modes}
    rates = {m.name: [] for m in modes}
    for r in range(rounds):
        for m in rotated(modes, r):
            conn = conns[m.name]
            t0 = time.perf_counter()
            for _ in range(count):
                m.get(conn, "/small")
            rates[m.name].append(count / (time.perf_counter() - t0))
    for c in conns.values():
        c.close()
    return rates


def bench_stream(modes, rounds, size):
    """MB/s of one large SSE-like response on a kept-alive connection."""
    conns = {m.name: m.connect() for m in modes}
    for m in modes:
        m.get(conns[m.name], f"/stream/{MIB}")  # warm-up
    rates = {m.name: [] for m in modes}
    for r in range(rounds):
        for m in rotated(modes, r):
            t0 = time.perf_counter()
            got = m.get(conns[m.name], f"/stream/{size}")
            rates[m.name].append(got / MIB / (time.perf_counter() - t0))
    for c in conns.values():
        c.close()
    return rates


# --- processes ---------------------------------------------------------------------------

def wait_port(port, proc, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(d):
    with open(f"{d}/ext.cnf", "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for argv in (["openssl", "req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem",
                  "-days", "2", "-subj", "/CN=bottle bench CA"],
                 ["openssl", "req", *ec, "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr",
                  "-subj", "/CN=127.0.0.1"],
                 ["openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey",
                  f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/server.pem", "-days", "2",
                  "-extfile", f"{d}/ext.cnf"]):
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Egress:
    """One mitmdump, started with the command line bottle uses (from bench_fixture)."""

    def __init__(self, work, name, fixture, addon, upstream_port, dummy, value_file, no_addon=False,
                 profile_out=None):
        self.dir = f"{work}/{name}"
        os.makedirs(f"{self.dir}/conf", mode=0o700)
        self.port = free_port()
        argv = [fixture, "egress", f"{self.dir}/routes.json", str(self.port), f"{self.dir}/conf", addon,
                f"http://127.0.0.1:{upstream_port}", f"{work}/ca.pem", "127.0.0.1", dummy, value_file]
        if no_addon:
            argv.append("--no-addon")
        cmd = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.splitlines()
        assert cmd[0] == "mitmdump"
        if no_addon:
            # The addon streams every response (SSE); without it mitmproxy would buffer them.
            cmd += ["--set", "stream_large_bodies=1"]
        if profile_out:
            cmd = [sys.executable, "-m", "cProfile", "-o", profile_out, "/usr/bin/mitmdump"] + cmd[1:]
        self.log = open(f"{self.dir}/mitmdump.log", "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        try:
            wait_port(self.port, self.proc, f"mitmdump ({name})")
        except RuntimeError:
            self.stop()
            with open(f"{self.dir}/mitmdump.log") as f:
                sys.stderr.write(f.read())
            raise
        self.cafile = f"{self.dir}/conf/mitmproxy-ca-cert.pem"

    def peak_rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- report ------------------------------------------------------------------------------

def latency_rows(title, times):
    d = times["direct"]
    rows = []
    for name in ("direct", "egress", "mitm"):
        t = times[name]
        added = "" if name == "direct" else \
            f"+{pct(t, 0.5) - pct(d, 0.5):.2f} / +{pct(t, 0.99) - pct(d, 0.99):.2f}"
        rows.append(f"| {title} | {name} | {len(t)} | {pct(t, 0.5):.2f} | {pct(t, 0.99):.2f} | {added} |")
    return rows


def ratio_rows(title, unit, rates):
    d = rates["direct"]
    rows = []
    for name in ("direct", "egress", "mitm"):
        r = rates[name]
        ratios = [a / b for a, b in zip(r, d)]  # same round: the noise both saw
        rows.append(f"| {title} | {name} | {len(r)} | {statistics.median(r):.1f} {unit} "
                    f"({min(r):.1f}–{max(r):.1f}) | {statistics.median(ratios):.3f} "
                    f"({min(ratios):.3f}–{max(ratios):.3f}) |")
    return rows


def profile_report(path):
    stats = pstats.Stats(path)
    total = stats.total_tt
    ours = []
    for (filename, line, func), (cc, nc, tt, ct, callers) in stats.stats.items():
        base = os.path.basename(filename)
        if base in ("bottle_egress.py", "bottle_broker.py"):
            ours.append((ct, tt, nc, f"{base}:{line}({func})"))
    ours.sort(reverse=True)
    idle = sum(v[2] for k, v in stats.stats.items() if "poll" in k[2] and "epoll" in k[2])
    busy = total - idle
    print()
    print(f"cProfile of egress (with the addon) over the profile workload: {total:.2f} s of wall time "
          f"in mitmdump's main thread, {idle:.2f} s of it waiting in epoll, so {busy:.2f} s busy.")
    print()
    print("| addon function | calls | own s | cumulative s | cumulative % of busy |")
    print("|---|---|---|---|---|")
    for ct, tt, nc, name in ours[:8]:
        print(f"| `{name}` | {nc} | {tt:.3f} | {ct:.3f} | {100 * ct / busy:.1f} % |")
    top = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:12]
    print()
    print("| top functions by own time | calls | own s | % of busy |")
    print("|---|---|---|---|")
    for (filename, line, func), (cc, nc, tt, ct, callers) in top:
        if "epoll" in func:
            continue
        where = filename.replace("/usr/lib/python3/dist-packages/", "").replace("/usr/lib/python3.11/", "")
        print(f"| `{where}:{line}({func})` | {nc} | {tt:.3f} | {100 * tt / busy:.1f} % |")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    if len(args) >= 1 and args[0] == "upstream":
        return run_upstream(*args[1:5])
    if len(args) != 2:
        sys.exit("usage: egress_bench.py FIXTURE ADDON [--quick] [--profile]")
    fixture, addon = os.path.abspath(args[0]), os.path.abspath(args[1])
    quick = "--quick" in flags
    real = "bench-real-" + secrets.token_hex(16)
    dummy = "bench-dummy-" + secrets.token_hex(16)

    with tempfile.TemporaryDirectory(prefix="bottle-egress-bench.") as work:
        make_certs(work)
        value_file = f"{work}/auth.json"
        with open(value_file, "w") as f:
            json.dump({"tokens": {"access_token": real},
                       "claudeAiOauth": {"accessToken": "bench-real-claude-" + secrets.token_hex(8)}}, f)
        port_file = f"{work}/upstream.port"
        upstream = subprocess.Popen([sys.executable, os.path.abspath(__file__), "upstream", f"{work}/server.pem",
                                     f"{work}/server.key", port_file, real], stdin=subprocess.DEVNULL)
        egresses = []
        try:
            deadline = time.time() + 20
            while not os.path.exists(port_file):
                if time.time() > deadline or upstream.poll() is not None:
                    raise RuntimeError("upstream did not start")
                time.sleep(0.05)
            up_port = int(open(port_file).read())
            eg = Egress(work, "egress", fixture, addon, up_port, dummy, value_file)
            egresses.append(eg)
            mi = Egress(work, "mitm", fixture, addon, up_port, dummy, value_file, no_addon=True)
            egresses.append(mi)
            modes = [Mode("direct", up_port, f"{work}/ca.pem", real, up_port),
                     Mode("egress", eg.port, eg.cafile, dummy, up_port),
                     Mode("mitm", mi.port, mi.cafile, real, up_port)]

            n_fresh, n_keep, burst_rounds, burst, stream_rounds, stream = \
                (40, 300, 3, 100, 3, 8 * MIB) if quick else (200, 2000, 7, 500, 7, 32 * MIB)
            log(f"new-connection latency, {n_fresh} rounds")
            fresh = bench_fresh(modes, n_fresh)
            log(f"keep-alive latency, {n_keep} rounds")
            keep = bench_keepalive(modes, n_keep)
            log(f"back-to-back small requests, {burst_rounds} rounds of {burst}")
            rates = bench_burst(modes, burst_rounds, burst)
            log(f"streamed response, {stream_rounds} rounds of {stream // MIB} MiB")
            streams = bench_stream(modes, stream_rounds, stream)

            print("| latency | path | n | p50 ms | p99 ms | added ms (p50 / p99) |")
            print("|---|---|---|---|---|---|")
            print("\n".join(latency_rows("GET, new connection (CONNECT + TLS)", fresh)))
            print("\n".join(latency_rows("GET, kept-alive connection", keep)))
            print()
            print("| throughput | path | rounds | median (min–max) | ratio to direct, same round: median (min–max) |")
            print("|---|---|---|---|---|")
            print("\n".join(ratio_rows(f"{burst} small GETs, one connection", "req/s", rates)))
            print("\n".join(ratio_rows(f"{stream // MIB} MiB SSE-like stream (~250 B events)", "MB/s",
                                       streams)))

            print()
            print(f"Peak RSS of mitmdump after all this: {eg.peak_rss_mib():.1f} MiB with the addon, "
                  f"{mi.peak_rss_mib():.1f} MiB without.")

            if "--profile" in flags:
                for e in egresses:
                    e.stop()
                egresses = []
                prof = f"{work}/egress.prof"
                pe = Egress(work, "profiled", fixture, addon, up_port, dummy, value_file, profile_out=prof)
                egresses.append(pe)
                m = Mode("egress", pe.port, pe.cafile, dummy, up_port)
                log("profiling egress: 50 new connections, 2000 keep-alive GETs, 2 streams")
                bench_fresh([m], 50)
                bench_burst([m], 1, 2000)
                bench_stream([m], 2, stream)
                pe.stop()
                egresses = []
                profile_report(prof)
        finally:
            for e in egresses:
                e.stop()
            upstream.terminate()
            upstream.wait()


if __name__ == "__main__":
    main()
