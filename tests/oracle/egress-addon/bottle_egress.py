"""bottle egress: swap dummy credentials for real ones, on bound hosts only.

A mitmproxy (8.x) addon. Run as
    mitmdump -s bottle_egress.py --set bottle_routes=/path/routes.json ...

The routes file (rendered by bottle, libbottle/src/egress/egress_config.cpp):
    {"version": 1, "routes": [{"name": "codex", "hosts": ["chatgpt.com"],
      "header": "Authorization", "dummy": "<exact dummy string>",
      "value_file": "/host/auth.json", "value_json_pointer": "/tokens/access_token"}]}

For every request, with `host` = the lowercase destination host (the CONNECT
target, which is where the bytes really go) and its Host header:
  * the dummy of a route NOT bound to both of them, anywhere in the request
    (header names and values, URL, decoded or raw body) -> 403, never forwarded;
  * plain-http requests carrying any dummy -> 403 (a real token never travels
    unencrypted);
  * for each route bound to the host whose `header` contains its exact dummy ->
    the dummy is replaced by the current real value, read from `value_file`
    (at the RFC 6901 pointer, else the whole file trimmed) and re-read whenever
    the file changes; if it cannot be read -> 502, the dummy is not forwarded.
A route may carry a token broker (bottle_broker.py, "broker": {"kind": "codex"|
"claude", "token_url": ..., "refresh_pointer": ..., ...}): the bottle's requests to
that vendor's token endpoint are then answered locally with fresh dummies minted
from the host's current real token (refreshing it on the host when it is about to
expire), revoke/logout calls get a local 200, and each newly minted dummy access
token becomes one more dummy of the route (kept in <confdir>/bottle_broker_state.json
across restarts; the routes file's dummy stays valid too).
This includes the HTTP/1.1 WebSocket upgrade request (an ordinary request to
mitmproxy). Client WebSocket messages carrying an unbound dummy kill the flow.

Every dummy is guarded, not only the one swapped: a broker route's
`dummy_refresh_tokens` (the bottle's id, access and refresh dummies) and the id
tokens and placeholders the broker minted since are, like the access dummies, blocked
(403, logged) on any host but the route's bound hosts and its token hosts.

The reverse swap (bottle_reflect.py): in the answer to a request egress injected a
real value into, every occurrence of that value -- as-is, JSON-escaped, URL-encoded,
base64 -- is replaced by the bottle's dummy before the bottle sees it: in response
headers, in the body as it streams (a carry-over tail shorter than the longest
needle; SSE stays live) and in the server's WebSocket messages. Injected requests ask
for `Accept-Encoding: identity`; a gzip/deflate answer is decoded as it streams and
passed on decoded; any other Content-Encoding (br, zstd, ...) gets a 502 instead of
its body. An injected answer's body length can change, so it is sent chunked.
Other responses are streamed through untouched (agents read SSE streams).

Without a parent proxy, connections to non-public addresses (loopback, private,
link-local, CGNAT, ...) are refused, so a bottle cannot reach the host or the local
network through egress.

Log lines are JSON objects on stderr and never contain a dummy or a real value.

When the confdir holds audit.json, every request or connection also gets one record in
the bottle's audit log (bottle_audit.py): where it went, what egress did and why; never
a header value, a dummy or a real value.
"""

import asyncio
import importlib.util
import ipaddress
import json
import os
import socket
import sys
import urllib.parse
from dataclasses import dataclass, field

from mitmproxy import ctx, exceptions, http

ROUTES_OPTION = "bottle_routes"
REFLECT_KEY = "bottle_injected"  # flow.metadata: [(route, real value, dummy sent)]
AUDIT_KEY = "bottle_audit"  # flow.metadata: (action, reason, route) of what egress decided
AUDITED_KEY = "bottle_audited"  # flow.metadata: the record is written
DOWN_KEY = "bottle_bytes_down"  # flow.metadata: response body bytes sent to the bottle
BROKER_STATE_FILE = "bottle_broker_state.json"


def _load_sibling_module(name: str):
    """A module from this file's directory (mitmproxy only puts it on sys.path
    while the script loads)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bottle_broker = _load_sibling_module("bottle_broker")
bottle_reflect = _load_sibling_module("bottle_reflect")
bottle_audit = _load_sibling_module("bottle_audit")


def log(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}, sort_keys=True), file=sys.stderr, flush=True)


class Unavailable(Exception):
    """The real value cannot be produced; the message names no secret."""


def json_pointer(document, pointer: str):
    """RFC 6901: "" is the whole document; "/a/0/b~1c" walks objects and arrays."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise Unavailable("JSON pointer must start with '/'")
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and (token == "0" or not token.startswith("0")) \
                and int(token) < len(node):
            node = node[int(token)]
        else:
            raise Unavailable("JSON pointer does not resolve")
    return node


@dataclass
class Route:
    name: str
    hosts: frozenset[str]
    header: str
    dummy: str
    value_file: str
    value_json_pointer: str
    broker_config: object = None  # bottle_broker.BrokerConfig, or None
    # Every dummy egress swaps for this route: the routes file's, then minted ones.
    dummies: list = field(default_factory=list)
    # The route's other dummies (id and refresh tokens, kept and minted): never
    # swapped, only guarded.
    guarded: list = field(default_factory=list)
    broker: object = field(default=None, repr=False)
    # The reverse swap's needles per (real value, dummy) pair, a few at most.
    _scrubbers: dict = field(default_factory=dict, repr=False)
    # Cache of the real value, keyed by the file's identity and stamp, so a
    # host-side refresh (in place or by atomic rename) is seen on the next request.
    _stamp: tuple | None = field(default=None, repr=False)
    _value: str | None = field(default=None, repr=False)

    def real_value(self) -> str:
        path = os.path.expanduser(self.value_file)
        try:
            st = os.stat(path)
            stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            if stamp == self._stamp and self._value is not None:
                return self._value
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise Unavailable(f"cannot read value file ({e.strerror})") from None
        except UnicodeDecodeError:
            raise Unavailable("value file is not UTF-8") from None
        if self.value_json_pointer:
            try:
                document = json.loads(text)
            except ValueError:
                raise Unavailable("value file is not valid JSON") from None
            value = json_pointer(document, self.value_json_pointer)
            if not isinstance(value, str):
                raise Unavailable("JSON pointer does not name a string")
        else:
            value = text.strip()
        # A header value: non-empty, no control characters (no header injection).
        if not value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise Unavailable("value is empty or has control characters")
        self._stamp, self._value = stamp, value
        return value

    def token_hosts(self) -> frozenset:
        return self.broker_config.token_hosts if self.broker_config is not None else frozenset()

    def leak(self, haystacks: list[bytes], hosts: set[str]) -> bool:
        """A dummy of this route is in `haystacks` and `hosts` are not all its own:
        the access dummies belong to the bound hosts, the guarded ones to the bound
        hosts and the token hosts."""
        if not hosts <= self.hosts and contains_any(haystacks, self.dummies):
            return True
        return not hosts <= self.hosts | self.token_hosts() and contains_any(haystacks, self.guarded)

    def foreign_host(self, hosts: set[str]) -> str:
        """The destination or a Host header naming a host not the route's own."""
        return min(hosts - self.hosts - self.token_hosts() or hosts - self.hosts)

    def present(self, haystacks: list[bytes]) -> bool:
        return contains_any(haystacks, self.dummies) or contains_any(haystacks, self.guarded)

    def scrubber(self, real: str, dummy: str):
        """The reverse swap of `real` to `dummy`; built once per pair (a host-side
        refresh makes a new pair, the old one is dropped)."""
        key = (real, dummy)
        if key not in self._scrubbers:
            if len(self._scrubbers) >= 8:
                self._scrubbers.clear()
            self._scrubbers[key] = bottle_reflect.Scrubber(bottle_reflect.needles(real, dummy))
        return self._scrubbers[key]


def contains_any(haystacks: list[bytes], strings: list[str]) -> bool:
    needles = [d.encode("utf-8") for d in strings]
    return any(n in h for h in haystacks for n in needles)


def load_routes(path: str) -> list[Route]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise exceptions.OptionsError(f"bottle egress: cannot load routes file {path}: {e}")
    if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("routes"), list):
        raise exceptions.OptionsError(f"bottle egress: {path}: expected {{\"version\": 1, \"routes\": [...]}}")
    routes = []
    for i, r in enumerate(doc["routes"]):
        try:
            route = Route(
                name=str(r["name"]),
                hosts=frozenset(str(h).lower() for h in r["hosts"]),
                header=str(r["header"]),
                dummy=str(r["dummy"]),
                value_file=str(r["value_file"]),
                value_json_pointer=str(r.get("value_json_pointer", "")),
                broker_config=bottle_broker.BrokerConfig.from_json(r["broker"]) if r.get("broker") else None,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise exceptions.OptionsError(f"bottle egress: {path}: routes[{i}]: missing or bad field {e}")
        # An empty or tiny dummy would match (and block or rewrite) ordinary traffic.
        if len(route.dummy) < 8 or not route.header or not route.hosts:
            raise exceptions.OptionsError(
                f"bottle egress: {path}: routes[{i}]: needs hosts, a header and a dummy of >= 8 characters")
        route.dummies = [route.dummy]
        route.guarded = guarded_dummies(route, [])
        routes.append(route)
    return routes


def guarded_dummies(route: Route, minted: list) -> list[str]:
    """The bottle's dummies the broker knows (its own, then minted ones) that are not
    swapped; short strings are left out, like a short dummy (they would match
    ordinary traffic)."""
    known = list(route.broker_config.dummy_refresh_tokens) if route.broker_config is not None else []
    out = []
    for d in sorted(known) + list(minted):
        if len(d) >= 8 and d not in route.dummies and d not in out:
            out.append(d)
    return out


def request_hosts(flow: http.HTTPFlow) -> set[str]:
    """Where the request goes (the CONNECT target) and what its Host header claims."""
    hosts = {flow.request.host.lower()}
    authority = flow.request.host_header
    if authority:
        try:
            hosts.add(urllib.parse.urlsplit("//" + authority).hostname or authority.lower())
        except ValueError:
            hosts.add(authority.lower())
    return hosts


def request_haystacks(request: http.Request) -> list[bytes]:
    """Every place a dummy could hide in a request, as bytes."""
    parts = [request.url.encode("utf-8", "surrogateescape"),
             urllib.parse.unquote(request.url).encode("utf-8", "surrogateescape")]
    for headers in (request.headers, request.trailers):
        if headers:
            parts.extend(name + b"\0" + value for name, value in headers.fields)
    if request.raw_content:
        parts.append(request.raw_content)
        decoded = request.get_content(strict=False)
        if decoded and decoded != request.raw_content:
            parts.append(decoded)
    return parts


def swap(value: str, dummies: list, real: str) -> str:
    # Longest first, so a dummy that contains another is replaced whole.
    for dummy in sorted(dummies, key=len, reverse=True):
        value = value.replace(dummy, real)
    return value


def non_public_address(host: str) -> str | None:
    """The first address `host` resolves to that is not a public one, or None."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None  # unresolvable: the connection fails on its own
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            return str(address)
    return None


def blocked(flow: http.HTTPFlow, status: int, message: str, reason: str = "", route: str = "") -> None:
    flow.metadata[AUDIT_KEY] = ("blocked", reason, route)
    flow.response = http.Response.make(status, message + "\n", {"Content-Type": "text/plain; charset=utf-8"})


def json_response(flow: http.HTTPFlow, status: int, body: dict) -> None:
    flow.response = http.Response.make(status, json.dumps(body).encode(),
                                       {"Content-Type": "application/json", "Cache-Control": "no-store"})


class BottleEgress:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.store = bottle_broker.DummyStore(None)
        self.audit = None

    def load(self, loader) -> None:
        loader.add_option(ROUTES_OPTION, str, "", "Path to bottle's egress routes JSON file.")

    def configure(self, updated) -> None:
        if ROUTES_OPTION in updated:
            path = getattr(ctx.options, ROUTES_OPTION)
            if not path:
                raise exceptions.OptionsError(f"bottle egress: --set {ROUTES_OPTION}=FILE is required")
            self.routes = load_routes(path)
            self._setup_brokers()
            confdir = os.path.expanduser(str(getattr(ctx.options, "confdir", "") or ""))
            try:
                self.audit = bottle_audit.AuditLog.from_confdir(confdir) if confdir else None
            except ValueError as e:
                raise exceptions.OptionsError(str(e))
            log("routes_loaded", path=path, routes=[r.name for r in self.routes])

    def _setup_brokers(self) -> None:
        confdir = os.path.expanduser(str(getattr(ctx.options, "confdir", "") or ""))
        self.store = bottle_broker.DummyStore(os.path.join(confdir, BROKER_STATE_FILE) if confdir else None)
        mode = str(ctx.options.mode)
        proxy = mode[len("upstream:"):] if mode.startswith("upstream:") else None
        cafile = getattr(ctx.options, "ssl_verify_upstream_trusted_ca", None) or None
        for route in self.routes:
            route.dummies = [route.dummy] + [d for d in self.store.get(route.name) if d != route.dummy]
            route.guarded = guarded_dummies(route, self.store.get(route.name, guarded=True))
            if route.broker_config is not None:
                route.broker = bottle_broker.Broker(route.broker_config, route.value_file, proxy=proxy, cafile=cafile)

    def server_connect(self, data) -> None:
        # Without a parent proxy (pipelock, whose SSRF layer guards this), egress
        # itself keeps bottles off the host and the local network: it connects only
        # to public addresses. (A name is resolved again when mitmproxy connects; a
        # rebinding DNS server could race this check -- pipelock closes that gap.)
        if data.server.via is not None or str(ctx.options.mode).startswith("upstream:"):
            return
        host = str(data.server.address[0])
        address = non_public_address(host)
        if address is not None:
            log("blocked", host=host, action="refused", reason="not a public address")
            data.server.error = f"bottle egress: {host} is not a public address"

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        if flow.request.method != "CONNECT":
            for route in self.routes:
                if route.broker is not None and route.broker.handles(flow.request.host, flow.request.path):
                    return await self._broker(flow, route)
        self.check_and_swap(flow)

    async def _broker(self, flow: http.HTTPFlow, route: Route) -> None:
        host = flow.request.host.lower()
        if flow.request.scheme != "https" or request_hosts(flow) - route.broker.config.token_hosts:
            log("blocked", host=host, route=route.name, action="403", reason="token request not over https to its host")
            return blocked(flow, 403, f"blocked by bottle egress: token request for {route.name} to {host}",
                           "token request not over https to its host", route.name)
        answer = await asyncio.to_thread(route.broker.answer, flow.request.method, flow.request.path,
                                         flow.request.get_content(strict=False) or b"",
                                         flow.request.headers.get("content-type", ""))
        if answer.new_dummy:
            route.dummies.append(answer.new_dummy)
            self.store.add(route.name, answer.new_dummy)
        for dummy in answer.new_guarded:
            if len(dummy) >= 8 and dummy not in route.dummies and dummy not in route.guarded:
                route.guarded.append(dummy)
                self.store.add(route.name, dummy, guarded=True)
        log("broker", host=host, route=route.name, action=str(answer.status), result=answer.event,
            **({"reason": answer.reason} if answer.reason else {}))
        json_response(flow, answer.status, answer.body)
        flow.metadata[AUDIT_KEY] = ("broker", answer.event, route.name)

    def check_and_swap(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        hosts = request_hosts(flow)
        host = flow.request.host.lower()
        haystacks = request_haystacks(flow.request)
        present = [r for r in self.routes if r.present(haystacks)]
        if not present:
            return
        for route in present:
            if route.leak(haystacks, hosts):
                host = route.foreign_host(hosts)
                log("blocked", host=host, route=route.name, action="403", reason="dummy sent to unbound host")
                return blocked(flow, 403, f"blocked by bottle egress: credential for {route.name} sent to {host}",
                               "dummy sent to unbound host", route.name)
        if flow.request.method == "CONNECT" or flow.request.scheme != "https":
            route, where = present[0], "CONNECT" if flow.request.method == "CONNECT" else "plain http"
            log("blocked", host=host, route=route.name, action="403", reason=f"dummy in {where}")
            return blocked(flow, 403, f"blocked by bottle egress: credential for {route.name} sent to {host} "
                                      f"in {where}", f"dummy in {where}", route.name)
        injected = []
        for route in present:
            values = flow.request.headers.get_all(route.header)
            sent = [d for d in sorted(route.dummies, key=len, reverse=True) if any(d in v for v in values)]
            if not sent:
                continue  # the dummy is elsewhere (e.g. a body): harmless, forwarded as is
            try:
                real = route.real_value()
            except Unavailable as e:
                log("value_unavailable", host=host, route=route.name, action="502", reason=str(e))
                return blocked(flow, 502, f"bottle egress: the credential for {route.name} is unavailable: {e}",
                               "credential unavailable", route.name)
            flow.request.headers.set_all(route.header, [swap(v, route.dummies, real) for v in values])
            injected.append((route, real, sent[0]))
            log("injected", host=host, route=route.name, action="replaced", header=route.header,
                websocket=flow.request.headers.get("upgrade", "").lower() == "websocket")
        if injected:
            # The answer is scanned for the real values (the reverse swap); a
            # compressed body could not be scanned as it streams.
            flow.metadata[REFLECT_KEY] = injected
            flow.metadata[AUDIT_KEY] = ("injected", "credential swapped", ",".join(r.name for r, _, _ in injected))
            flow.request.headers["Accept-Encoding"] = "identity"

    def http_connect(self, flow: http.HTTPFlow) -> None:
        # CONNECT requests get the same dummy scan (a dummy there is never forwarded).
        self.check_and_swap(flow)
        # A refused CONNECT gets no response hook: its record is written here.
        if flow.response is not None:
            self._audit(flow)

    def response(self, flow: http.HTTPFlow) -> None:
        self._audit(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._audit(flow, flow.error.msg if flow.error else "error")

    def _audit(self, flow: http.HTTPFlow, error: str | None = None) -> None:
        if self.audit is None or flow.metadata.get(AUDITED_KEY):
            return
        flow.metadata[AUDITED_KEY] = True
        action, reason, route = flow.metadata.get(AUDIT_KEY, ("tunneled", "forwarded unchanged", ""))
        response = flow.response
        if error is not None:
            text = self.scrub(str(error))[:200]
            if response is None:
                action = "refused"
                reason = "not a public address" if "is not a public address" in text else text
            else:
                reason = f"{reason}; interrupted: {text}"
        down = flow.metadata.get(DOWN_KEY)
        if down is None and response is not None:
            down = len(response.raw_content or b"")
        self.audit.write(bottle_audit.record(flow, action, reason, route, self.scrub,
                                             status=response.status_code if response is not None else 0,
                                             bytes_down=down or 0))

    def scrub(self, text: str) -> str:
        """`text` with every dummy and every cached real value redacted."""
        for route in self.routes:
            for secret in route.dummies + route.guarded + ([route._value] if route._value else []):
                if secret in text:
                    text = text.replace(secret, bottle_audit.REDACTED)
        return text

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        # Pass responses through as they arrive: buffering would stall SSE streams.
        # A 101 (WebSocket upgrade) is left to mitmproxy's own upgrade handling.
        if flow.response is None:
            return
        injected = flow.metadata.get(REFLECT_KEY)
        if injected:
            return self._reflect_response(flow, injected)
        if flow.response.status_code != 101:
            flow.response.stream = self._counter(flow) if self.audit is not None else True

    @staticmethod
    def _counter(flow: http.HTTPFlow):
        """A pass-through `response.stream` that counts the body bytes for the audit log."""
        flow.metadata[DOWN_KEY] = 0

        def count(data: bytes) -> bytes:
            flow.metadata[DOWN_KEY] += len(data)
            return data
        return count

    def _reflect_response(self, flow: http.HTTPFlow, injected: list) -> None:
        """The answer to an injected request: headers scanned now, the body as it
        streams (see the module doc)."""
        response = flow.response
        scrubbers = [(route, route.scrubber(real, dummy)) for route, real, dummy in injected]
        fields = []
        for name, value in response.headers.fields:
            for route, scrubber in scrubbers:
                name = self._scrub(flow, route, scrubber, name, "header name")
                value = self._scrub(flow, route, scrubber, value, "header " + name.decode("latin-1"))
            fields.append((name, value))
        response.headers.fields = tuple(fields)
        if response.status_code == 101 or flow.request.method == "HEAD" or response.status_code in (204, 304):
            return  # no body
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity") and encoding not in bottle_reflect.Decoder.SUPPORTED:
            route = scrubbers[0][0]
            log("blocked", host=flow.request.host.lower(), route=route.name, action="502",
                reason="answer of an injected request has an encoding egress cannot scan")
            flow.metadata[AUDIT_KEY] = ("blocked", "answer has an encoding egress cannot scan", route.name)
            return self._replace_streamed(flow, 502, f"bottle egress: the answer for {route.name} came with a "
                                                     f"Content-Encoding egress cannot scan\n")
        decoder = bottle_reflect.Decoder(encoding) if encoding not in ("", "identity") else None
        if decoder is not None:
            del response.headers["content-encoding"]
        # The length changes with a swap (and a decoded body): send it chunked.
        response.headers.pop("content-length", None)
        response.headers["transfer-encoding"] = "chunked"
        response.stream = BodyScrub(self, flow, scrubbers, decoder)

    @staticmethod
    def _replace_streamed(flow: http.HTTPFlow, status: int, message: str) -> None:
        """Answer `status` instead of the upstream's response; its body is read and dropped."""
        text = message.encode()
        flow.response = http.Response.make(status, text, {"Content-Type": "text/plain; charset=utf-8"})
        sent = []

        def drop_body(data: bytes) -> list:
            if sent:
                return []
            sent.append(True)
            return [text]
        flow.response.stream = drop_body

    @staticmethod
    def _scrub(flow: http.HTTPFlow, route: Route, scrubber, data: bytes, where: str) -> bytes:
        out, hits = scrubber.scrub(data)
        log_reflected(flow, route, hits, where)
        return out

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        if not message.from_client:
            for route, real, dummy in flow.metadata.get(REFLECT_KEY, []):
                message.content = self._scrub(flow, route, route.scrubber(real, dummy), message.content,
                                              "websocket message")
            return
        hosts = request_hosts(flow)
        for route in self.routes:
            if route.leak([message.content], hosts):
                log("blocked", host=flow.request.host.lower(), route=route.name, action="websocket_killed",
                    reason="dummy sent to unbound host")
                if self.audit is not None:
                    self.audit.write(bottle_audit.record(flow, "blocked", "dummy in a websocket message to unbound host",
                                                         route.name, self.scrub, status=101))
                message.drop()
                flow.kill()
                return


def log_reflected(flow: http.HTTPFlow, route: Route, hits: list, where: str) -> None:
    """One line per encoding found; never the value."""
    for encoding in sorted({h.encoding for h in hits}):
        log("reflected", host=flow.request.host.lower(), route=route.name, action="replaced", where=where,
            encoding=encoding, count=sum(1 for h in hits if h.encoding == encoding))


class BodyScrub:
    """mitmproxy's `response.stream` callable of an injected answer: decode (gzip,
    deflate), scan with a carry-over tail, never return b"" (an empty chunk would end
    a chunked body early)."""

    def __init__(self, egress: "BottleEgress", flow: http.HTTPFlow, scrubbers: list, decoder):
        self.flow, self.decoder, self.failed = flow, decoder, False
        self.streams = [(route, bottle_reflect.StreamScrub(s)) for route, s in scrubbers]

    def __call__(self, data: bytes) -> list:
        if self.failed:
            return []
        end = not data
        if self.decoder is not None:
            try:
                data = self.decoder.feed(data)
            except bottle_reflect.DecodeError as e:
                # The headers are gone already: stop the body here, nothing unscanned passes.
                self.failed = True
                log("blocked", host=self.flow.request.host.lower(), route=self.streams[0][0].name,
                    action="truncated", reason=str(e))
                self.flow.metadata[AUDIT_KEY] = ("blocked", "answer truncated: cannot decode it",
                                                 self.streams[0][0].name)
                return []
            if not data and not end:
                return []
        for route, stream in self.streams:
            # One stream per injected route, each on what the one before emitted; an
            # empty input is the end of the body, so only pass it on at the end.
            if data or end:
                data, hits = stream.feed(data)
                log_reflected(self.flow, route, hits, "body")
        self.flow.metadata[DOWN_KEY] = self.flow.metadata.get(DOWN_KEY, 0) + len(data)
        return [data] if data else []


addons = [BottleEgress()]
