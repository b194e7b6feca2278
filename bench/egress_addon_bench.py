#!/usr/bin/python3
"""The egress addon's own cost per request, without the proxy around it.

    egress_addon_bench.py ADDON [--quick]

Loads ADDON (libbottle/share/egress/bottle_egress.py) into mitmproxy's test context with
two routes like forwarded credentials give, and times what it does for one API request:
the `request` hook (dummy scan of URL, headers and body, host binding check, swap of the
dummy for the real value, a log line) plus `responseheaders`, for requests with no body
and with JSON bodies like an agent's growing conversation. Also times the hooks for a
request carrying no dummy (ordinary traffic). Log lines go to /dev/null (a write per
line, as to the container log). Prints a Markdown table; the tokens are test strings.
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


if __name__ == "__main__":
    main()
