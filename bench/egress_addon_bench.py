#!/usr/bin/python3
"""The egress addon's own cost per request, without the proxy around it.

    egress_addon_bench.py ADDON [--quick]

Loads ADDON (tests/oracle/egress-addon/bottle_egress.py) into mitmproxy's test context with
two routes like forwarded credentials give, and times what it does for one API request:
the `request` hook (dummy scan of URL, headers and body, host binding check, swap of the
dummy for the real value, a log line) plus `responseheaders`, for requests with no body
and with JSON bodies like an agent's growing conversation. Also times the hooks for a
request carrying no dummy (ordinary traffic). Log lines go to /dev/null (a write per
line, as to the container log). Prints a Markdown table; the tokens are test strings.

A second table is the reverse swap's cost on the answer of an injected request: the
body callable `responseheaders` installs (scan with a carry-over tail, JSON/URL/base64
needles of a JWT-sized real value) fed an SSE stream (one chunk per event, like a
model's token stream) and a bulk download (64 KB chunks), next to today's pass-through
(the chunk handed on untouched), and a gzip download decoded as it streams.

A third table is the audit log's cost per request: the `response` hook building one
record and appending it to a file (bottle_audit.py).
"""
import json
import os
import secrets
import statistics
import sys
import tempfile
import time

from mitmproxy import http
from mitmproxy.test import taddons, tflow


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    if len(args) != 1:
        sys.exit("usage: egress_addon_bench.py ADDON [--quick]")
    sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
    import importlib.util
    spec = importlib.util.spec_from_file_location("bottle_egress", args[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    real = "bench-real-" + secrets.token_hex(16)
    dummy = "bench-dummy-" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="bottle-addon-bench.") as d:
        value_file = f"{d}/auth.json"
        with open(value_file, "w") as f:
            json.dump({"tokens": {"access_token": real}, "claudeAiOauth": {"accessToken": "bench-real-c"}}, f)
        routes = {"version": 1, "routes": [
            {"name": "codex-chatgpt", "hosts": ["chatgpt.com"], "header": "Authorization", "dummy": dummy,
             "value_file": value_file, "value_json_pointer": "/tokens/access_token"},
            {"name": "claude-oauth", "hosts": ["api.anthropic.com"], "header": "Authorization",
             "dummy": "sk-ant-oat01-bench-dummy-claude-0000", "value_file": value_file,
             "value_json_pointer": "/claudeAiOauth/accessToken"}]}
        with open(f"{d}/routes.json", "w") as f:
            json.dump(routes, f)

        addon = module.BottleEgress()
        saved_err = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        with taddons.context(addon) as tctx:
            tctx.configure(addon, bottle_routes=f"{d}/routes.json", confdir=d)

            def make(body, auth):
                req = http.Request.make("POST" if body else "GET", "https://chatgpt.com/backend-api/codex/responses",
                                        body, {"Authorization": auth, "Content-Type": "application/json",
                                               "User-Agent": "codex_cli_rs/0.0", "Accept": "text/event-stream"})
                return tflow.tflow(req=req)

            def run_hooks(flow):
                coro = addon.request(flow)
                try:
                    coro.send(None)
                except StopIteration:
                    pass
                assert flow.response is None, flow.response and flow.response.content
                flow.response = http.Response.make(200, b"", {"Content-Type": "text/event-stream"})
                addon.responseheaders(flow)

            def timed(body, auth, n):
                flows = [make(body, auth) for _ in range(n)]
                os.dup2(devnull, 2)
                try:
                    samples = []
                    for flow in flows:
                        t0 = time.perf_counter()
                        run_hooks(flow)
                        samples.append((time.perf_counter() - t0) * 1e6)
                finally:
                    os.dup2(saved_err, 2)
                swapped = flows[-1].request.headers["Authorization"]
                assert (swapped == "Bearer " + real) == (auth != "Bearer none"), "swap did not happen"
                return samples

            def body_of(size):
                if size == 0:
                    return b""
                turn = {"role": "user", "content": [{"type": "input_text", "text": "lorem ipsum " * 40}]}
                one = len(json.dumps(turn)) + 2
                return json.dumps({"model": "gpt-5", "input": [turn] * (size // one + 1), "stream": True}).encode()

            n = 300 if quick else 2000
            print("| request through the addon's hooks | n | median µs | p90 µs |")
            print("|---|---|---|---|")
            for label, size, auth in (("GET, dummy swapped", 0, "Bearer " + dummy),
                                      ("POST 10 KB JSON, dummy swapped", 10_000, "Bearer " + dummy),
                                      ("POST 200 KB JSON, dummy swapped", 200_000, "Bearer " + dummy),
                                      ("POST 1 MB JSON, dummy swapped", 1_000_000, "Bearer " + dummy),
                                      ("GET, no dummy (ordinary traffic)", 0, "Bearer none")):
                count = n if size < 200_000 else max(n // 10, 50)
                timed(body_of(size), auth, 50)  # warm-up
                s = sorted(timed(body_of(size), auth, count))
                print(f"| {label} | {count} | {statistics.median(s):.1f} | {s[int(0.9 * (len(s) - 1))]:.1f} |")
            print()
            reverse_scan_table(module, addon, make, run_hooks, dummy, quick)
            print()
            audit_table(module, addon, make, run_hooks, dummy, d, quick)


def audit_table(module, addon, make, run_hooks, dummy, d, quick):
    """The audit log's cost: the `response` hook building and appending one record."""
    addon.audit = module.bottle_audit.AuditLog(os.path.join(d, "audit.jsonl"), "bench", 16 << 20)
    n = 300 if quick else 2000
    print("| audit record per request (`response` hook, one append) | n | median µs | p90 µs |")
    print("|---|---|---|---|")
    for label, auth in (("dummy swapped", "Bearer " + dummy), ("no dummy (ordinary traffic)", "Bearer none")):
        flows = [make(b"", auth) for _ in range(n + 50)]
        saved_err, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # the request side's log lines
        try:
            for flow in flows:
                run_hooks(flow)  # the request side, timed in the first table
        finally:
            os.dup2(saved_err, 2)
            os.close(devnull)
            os.close(saved_err)
        samples = []
        for flow in flows:
            t0 = time.perf_counter()
            addon.response(flow)
            samples.append((time.perf_counter() - t0) * 1e6)
        s = sorted(samples[50:])  # the first 50 warm up
        print(f"| {label} | {n} | {statistics.median(s):.1f} | {s[int(0.9 * (len(s) - 1))]:.1f} |")
    addon.audit = None


def sse_chunks(count):
    # Model output: short JSON deltas, text with plenty of "e" (the first byte of a JWT needle).
    return [("event: response.output_text.delta\ndata: " + json.dumps(
        {"type": "response.output_text.delta", "delta": "the quick brown fox jumped " * (1 + i % 3)}) +
             "\n\n").encode() for i in range(count)]


def bulk_chunks(total, size=65536):
    block = (b"lorem ipsum dolor sit amet, eyJ consectetur adipiscing elit " * 1200)[:size]
    return [block] * (total // size)


def feed_all(stream, chunks):
    out = 0
    for c in chunks:
        out += sum(map(len, stream(c)))
    return out + sum(map(len, stream(b"")))


def reverse_scan_table(module, addon, make, run_hooks, dummy, quick):
    """Scan cost per body (see the module doc); the real value is swapped to a JWT-sized one."""
    import gzip
    jwt_real = "eyJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(1100) + "." + secrets.token_urlsafe(256)
    route = addon.routes[0]
    route._stamp, route._value = None, None
    with open(route.value_file, "w") as f:
        json.dump({"tokens": {"access_token": jwt_real}, "claudeAiOauth": {"accessToken": "bench-real-c"}}, f)

    def injected_stream(headers):
        flow = make(b"", "Bearer " + dummy)
        run_hooks(flow)  # injects, installs the body callable
        flow.response = http.Response.make(200, b"", headers)
        addon.responseheaders(flow)
        assert callable(flow.response.stream)
        return flow.response.stream

    def passthrough(c):
        return [c] if c else []

    reps = 3 if quick else 10
    sse = sse_chunks(500 if quick else 2000)
    bulk_mb = 8 if quick else 32
    bulk = bulk_chunks(bulk_mb << 20)
    gz = gzip.compress(b"".join(bulk), 1)
    gz_chunks = [gz[i:i + 65536] for i in range(0, len(gz), 65536)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved_err = os.dup(2)

    def best(make_stream, chunks):
        times = []
        for _ in range(reps):
            stream = make_stream()
            os.dup2(devnull, 2)
            try:
                t0 = time.perf_counter()
                feed_all(stream, chunks)
                times.append(time.perf_counter() - t0)
            finally:
                os.dup2(saved_err, 2)
        return statistics.median(times)

    needles = len(module.bottle_reflect.needles(jwt_real, dummy))
    print(f"| answer of an injected request ({len(jwt_real)}-byte real value, {needles} needles) "
          "| today: pass-through | with the reverse scan |")
    print("|---|---|---|")
    sse_bytes = sum(map(len, sse))
    t_pass, t_scan = best(lambda: passthrough, sse), best(lambda: injected_stream({"Content-Type": "text/event-stream"}), sse)
    print(f"| SSE, {len(sse)} events of ~{sse_bytes // len(sse)} B, µs per event | {t_pass / len(sse) * 1e6:.2f} "
          f"| {t_scan / len(sse) * 1e6:.2f} |")
    t_pass, t_scan = best(lambda: passthrough, bulk), best(lambda: injected_stream({}), bulk)
    print(f"| bulk download, {bulk_mb} MB in 64 KB chunks, MB/s | {bulk_mb / t_pass:,.0f} | {bulk_mb / t_scan:,.0f} |")
    t_gz = best(lambda: injected_stream({"Content-Encoding": "gzip"}), gz_chunks)
    print(f"| gzip download (decoded + scanned), {bulk_mb} MB decoded, MB/s | {bulk_mb / t_pass:,.0f} (passed compressed) "
          f"| {bulk_mb / t_gz:,.0f} |")


if __name__ == "__main__":
    main()
