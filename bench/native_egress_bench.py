#!/usr/bin/python3
"""bottle-egress (the native engine) side by side with a direct connection and mitmdump.

    native_egress_bench.py BOTTLE_EGRESS FIXTURE ADDON [--quick]

BOTTLE_EGRESS is build/bin/bottle-egress; FIXTURE and ADDON are what egress_bench.py
takes (bench_fixture renders the routes file and mitmdump's command line; ADDON is
tests/oracle/egress-addon/bottle_egress.py). The upstream, the client and the figures'
method are egress_bench.py's: one HTTPS upstream on 127.0.0.1 that also plays the
parent proxy (CONNECT, then TLS), so both engines run as bottle runs them, with a
parent. Egress requests carry the route's dummy and the upstream answers 401 unless
it receives the real value, so every measured request also proves the swap.

Paths: direct (the client reaches the upstream itself), relay (the client's TLS to the
upstream through bench_relay, a plain TCP relay beside BOTTLE_EGRESS in the build: what
one extra hop costs with no TLS termination or parsing), native (bottle-egress), and
mitmdump (mitmproxy with bottle's addon; left out when mitmdump is not installed).
Figures: p50/p99 latency on a kept-alive connection, small requests per second on one
connection, bulk download and SSE-like stream rates, peak RSS with 50 open
intercepted connections, and start-to-ready. Markdown to stdout, progress to stderr.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import json
import secrets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import egress_bench as eb  # noqa: E402

MIB = eb.MIB


class Native:
    """bottle-egress with bottle's routes file, its parent proxy being the upstream."""

    def __init__(self, work, binary, upstream_port, dummy, value_file):
        self.dir = f"{work}/native"
        os.makedirs(self.dir, mode=0o700)
        with open(f"{self.dir}/routes.json", "w") as f:
            json.dump({"version": 1, "routes": [{"name": "bench", "hosts": ["127.0.0.1"], "header": "Authorization",
                                                  "dummy": dummy, "value_file": value_file,
                                                  "value_json_pointer": "/tokens/access_token"}]}, f)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", f"{self.dir}/ca.key", "-out",
                        f"{self.dir}/ca-cert.pem", "-days", "2", "-subj", "/CN=bottle native bench CA",
                        "-addext", "basicConstraints=critical,CA:TRUE",
                        "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(f"{self.dir}/ca.pem", "w") as f:
            f.write(open(f"{self.dir}/ca.key").read() + open(f"{self.dir}/ca-cert.pem").read())
        self.cafile = f"{self.dir}/ca-cert.pem"
        self.port = eb.free_port()
        self.log = open(f"{self.dir}/egress.log", "w")
        # The environment egress has in its image: no SSL_CERT_FILE/SSL_CERT_DIR, which
        # some hosts set and which would make it parse that bundle whole at start.
        env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
        start = time.monotonic()
        self.proc = subprocess.Popen(
            [binary, "--listen", f"127.0.0.1:{self.port}", "--ca", f"{self.dir}/ca.pem", "--routes",
             f"{self.dir}/routes.json", "--parent-proxy", f"http://127.0.0.1:{upstream_port}", "--upstream-ca",
             f"{work}/ca.pem"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        line = self.proc.stdout.readline()
        self.ready_ms = (time.monotonic() - start) * 1000
        if '"event":"ready"' not in line:
            raise RuntimeError(f"bottle-egress did not start: {line!r}")

    def memory_mib(self):
        """VmHWM (peak RSS), and RssFile (pages of the binary and its shared libraries,
        which every egress of one image shares) and RssAnon (its own) now."""
        fields = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS", "RssFile", "RssAnon"):
                    fields[key] = int(value.split()[0]) / 1024
        return fields

    def cpu_seconds(self):
        """User plus system CPU time so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self):
        return self.memory_mib().get("VmHWM", float("nan"))

    def stop(self):
        stop_process(self.proc)
        self.log.close()


class Relay:
    """bench_relay in front of the upstream."""

    def __init__(self, binary, upstream_port):
        self.proc = subprocess.Popen([binary, str(upstream_port)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"bench_relay did not start: {line!r}")
        self.port = int(line)

    def stop(self):
        stop_process(self.proc)


def stop_process(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bulk(modes, rounds, size):
    """MB/s of a Content-Length download on a kept-alive connection."""
    conns = {m.name: m.connect() for m in modes}
    rates = {m.name: [] for m in modes}
    for r in range(rounds):
        for m in eb.rotated(modes, r):
            t0 = time.perf_counter()
            m.get(conns[m.name], f"/bulk/{size}")
            rates[m.name].append(size / MIB / (time.perf_counter() - t0))
    for c in conns.values():
        c.close()
    return rates


def rows(kind, names, values, unit=""):
    out = []
    d = values["direct"]
    for name in names:
        v = values[name]
        if kind == "latency":
            added = "" if name == "direct" else f"+{eb.pct(v, 0.5) - eb.pct(d, 0.5):.2f}"
            out.append(f"| {name} | {eb.pct(v, 0.5):.2f} | {eb.pct(v, 0.99):.2f} | {added} |")
        else:
            import statistics
            ratios = [a / b for a, b in zip(v, d)]
            out.append(f"| {name} | {statistics.median(v):.1f} {unit} | {statistics.median(ratios):.2f}× |")
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 3:
        sys.exit("usage: native_egress_bench.py BOTTLE_EGRESS FIXTURE ADDON [--quick]")
    binary, fixture, addon = (os.path.abspath(a) for a in args)
    quick = "--quick" in sys.argv
    have_mitm = shutil.which("mitmdump") is not None
    real = "bench-real-" + secrets.token_hex(16)
    dummy = "bench-dummy-" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="bottle-native-egress-bench.") as work:
        eb.make_certs(work)
        value_file = f"{work}/auth.json"
        with open(value_file, "w") as f:
            json.dump({"tokens": {"access_token": real}}, f)
        port_file = f"{work}/upstream.port"
        upstream = subprocess.Popen([sys.executable, eb.__file__, "upstream", f"{work}/server.pem",
                                     f"{work}/server.key", port_file, real], stdin=subprocess.DEVNULL)
        engines, relay = [], None
        try:
            deadline = time.time() + 20
            while not os.path.exists(port_file):
                if time.time() > deadline or upstream.poll() is not None:
                    raise RuntimeError("upstream did not start")
                time.sleep(0.05)
            up = int(open(port_file).read())
            relay = Relay(os.path.join(os.path.dirname(binary), "bench_relay"), up)
            native = Native(work, binary, up, dummy, value_file)
            engines.append(native)
            modes = [eb.Mode("direct", up, f"{work}/ca.pem", real, up),
                     eb.Mode("relay", relay.port, f"{work}/ca.pem", real, up),
                     eb.Mode("native", native.port, native.cafile, dummy, up)]
            mitm_ready_ms = None
            if have_mitm:
                t0 = time.monotonic()
                mitm = eb.Egress(work, "egress", fixture, addon, up, dummy, value_file)
                mitm_ready_ms = (time.monotonic() - t0) * 1000
                engines.append(mitm)
                modes.append(eb.Mode("mitmdump", mitm.port, mitm.cafile, dummy, up))
            names = [m.name for m in modes]

            n_keep, burst_rounds, burst, rounds, size = (300, 3, 100, 3, 8 * MIB) if quick else \
                (2000, 5, 500, 5, 32 * MIB)
            eb.log(f"keep-alive latency, {n_keep} rounds")
            keep = eb.bench_keepalive(modes, n_keep)
            # Egress's own CPU in the phases that only the native path sends through it
            # (one TLS handshake per phase included): what a request and a MiB cost it,
            # whatever share of the two cores it got.
            eb.log(f"small requests, {burst_rounds} rounds of {burst}")
            cpu0 = native.cpu_seconds()
            rates = eb.bench_burst(modes, burst_rounds, burst)
            cpu_per_request_us = (native.cpu_seconds() - cpu0) / (burst_rounds * burst) * 1e6
            eb.log(f"bulk download, {rounds} rounds of {size // MIB} MiB")
            cpu0 = native.cpu_seconds()
            bulks = bulk(modes, rounds, size)
            cpu_per_mib_ms = (native.cpu_seconds() - cpu0) / (rounds * size / MIB) * 1e3
            eb.log(f"SSE-like stream, {rounds} rounds of {size // MIB} MiB")
            streams = eb.bench_stream(modes, rounds, size)

            eb.log("50 open intercepted connections")
            rss, after_downloads = {}, {}
            for m, engine in zip(modes[2:], engines):
                conns = [m.connect() for _ in range(50)]
                for c in conns:
                    m.get(c, "/small")
                rss[m.name] = engine.peak_rss_mib()
                if m.name == "native":
                    native_split = engine.memory_mib()
                    # What kept-alive connections hold once they have carried something
                    # larger: RSS now (not the peak), all 50 idle again.
                    for c in conns:
                        m.get(c, f"/bulk/{MIB}")
                    after_downloads[m.name] = engine.memory_mib()["VmRSS"]
                for c in conns:
                    c.close()

            print("| kept-alive GET | p50 ms | p99 ms | added p50 ms |")
            print("|---|---|---|---|")
            print("\n".join(rows("latency", names, keep)))
            print()
            print("| rate | path | median | ratio to direct |")
            print("|---|---|---|---|")
            for title, values, unit in ((f"{burst} small GETs, one connection", rates, "req/s"),
                                        (f"{size // MIB} MiB bulk download", bulks, "MB/s"),
                                        (f"{size // MIB} MiB SSE-like stream", streams, "MB/s")):
                print("\n".join(f"| {title} " + r for r in rows("rate", names, values, unit)))
            print()
            print(f"bottle-egress CPU (user + system): {cpu_per_request_us:.0f} µs per small request, "
                  f"{cpu_per_mib_ms:.2f} ms per MiB downloaded")
            print()
            print("| engine | peak RSS, 50 open connections | start to ready |")
            print("|---|---|---|")
            print(f"| native | {rss['native']:.1f} MiB (now: {native_split['RssFile']:.1f} MiB binary and shared "
                  f"libraries, {native_split['RssAnon']:.1f} MiB its own) | {native.ready_ms:.0f} ms |")
            if have_mitm:
                print(f"| mitmdump | {rss['mitmdump']:.1f} MiB | {mitm_ready_ms:.0f} ms (port open) |")
            print()
            print(f"bottle-egress RSS with the 50 connections idle after a 1 MiB download each: "
                  f"{after_downloads['native']:.1f} MiB")
        finally:
            for e in engines:
                e.stop()
            if relay:
                relay.stop()
            upstream.terminate()
            upstream.wait()


if __name__ == "__main__":
    main()
