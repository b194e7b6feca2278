"""bottle egress: swap dummy credentials for real ones, on bound hosts only.

A mitmproxy (8.x) addon. Run as
    mitmdump -s bottle_egress.py --set bottle_routes=/path/routes.json ...

The routes file (rendered by bottle, libbottle/src/egress_config.cpp):
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
Responses are streamed through untouched (agents read SSE streams).

Without a parent proxy, connections to non-public addresses (loopback, private,
link-local, CGNAT, ...) are refused, so a bottle cannot reach the host or the local
network through egress.

Log lines are JSON objects on stderr and never contain a dummy or a real value.
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
BROKER_STATE_FILE = "bottle_broker_state.json"


def _load_broker_module():
    """bottle_broker.py from this file's directory (mitmproxy only puts it on
    sys.path while the script loads)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bottle_broker.py")
    spec = importlib.util.spec_from_file_location("bottle_broker", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bottle_broker = _load_broker_module()


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
    broker: object = field(default=None, repr=False)
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
        routes.append(route)
    return routes


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


def blocked(flow: http.HTTPFlow, status: int, message: str) -> None:
    flow.response = http.Response.make(status, message + "\n", {"Content-Type": "text/plain; charset=utf-8"})


def json_response(flow: http.HTTPFlow, status: int, body: dict) -> None:
    flow.response = http.Response.make(status, json.dumps(body).encode(),
                                       {"Content-Type": "application/json", "Cache-Control": "no-store"})


class BottleEgress:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.store = bottle_broker.DummyStore(None)

    def load(self, loader) -> None:
        loader.add_option(ROUTES_OPTION, str, "", "Path to bottle's egress routes JSON file.")

    def configure(self, updated) -> None:
        if ROUTES_OPTION in updated:
            path = getattr(ctx.options, ROUTES_OPTION)
            if not path:
                raise exceptions.OptionsError(f"bottle egress: --set {ROUTES_OPTION}=FILE is required")
            self.routes = load_routes(path)
            self._setup_brokers()
            log("routes_loaded", path=path, routes=[r.name for r in self.routes])

    def _setup_brokers(self) -> None:
        confdir = os.path.expanduser(str(getattr(ctx.options, "confdir", "") or ""))
        self.store = bottle_broker.DummyStore(os.path.join(confdir, BROKER_STATE_FILE) if confdir else None)
        mode = str(ctx.options.mode)
        proxy = mode[len("upstream:"):] if mode.startswith("upstream:") else None
        cafile = getattr(ctx.options, "ssl_verify_upstream_trusted_ca", None) or None
        for route in self.routes:
            route.dummies = [route.dummy] + [d for d in self.store.get(route.name) if d != route.dummy]
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
            return blocked(flow, 403, f"blocked by bottle egress: token request for {route.name} to {host}")
        answer = await asyncio.to_thread(route.broker.answer, flow.request.method, flow.request.path,
                                         flow.request.get_content(strict=False) or b"",
                                         flow.request.headers.get("content-type", ""))
        if answer.new_dummy:
            route.dummies.append(answer.new_dummy)
            self.store.add(route.name, answer.new_dummy)
        log("broker", host=host, route=route.name, action=str(answer.status), result=answer.event,
            **({"reason": answer.reason} if answer.reason else {}))
        json_response(flow, answer.status, answer.body)

    def check_and_swap(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        hosts = request_hosts(flow)
        host = flow.request.host.lower()
        present = self._routes_present(request_haystacks(flow.request))
        if not present:
            return
        for route in present:
            if not hosts <= route.hosts:
                host = min(hosts - route.hosts)  # the destination or a Host header naming another host
                log("blocked", host=host, route=route.name, action="403", reason="dummy sent to unbound host")
                return blocked(flow, 403, f"blocked by bottle egress: credential for {route.name} sent to {host}")
        if flow.request.method == "CONNECT" or flow.request.scheme != "https":
            route, where = present[0], "CONNECT" if flow.request.method == "CONNECT" else "plain http"
            log("blocked", host=host, route=route.name, action="403", reason=f"dummy in {where}")
            return blocked(flow, 403, f"blocked by bottle egress: credential for {route.name} sent to {host} "
                                      f"in {where}")
        for route in present:
            values = flow.request.headers.get_all(route.header)
            if not any(d in v for v in values for d in route.dummies):
                continue  # the dummy is elsewhere (e.g. a body): harmless, forwarded as is
            try:
                real = route.real_value()
            except Unavailable as e:
                log("value_unavailable", host=host, route=route.name, action="502", reason=str(e))
                return blocked(flow, 502, f"bottle egress: the credential for {route.name} is unavailable: {e}")
            flow.request.headers.set_all(route.header, [swap(v, route.dummies, real) for v in values])
            log("injected", host=host, route=route.name, action="replaced", header=route.header,
                websocket=flow.request.headers.get("upgrade", "").lower() == "websocket")

    # CONNECT requests get the same dummy scan (a dummy there is never forwarded).
    http_connect = check_and_swap

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        # Pass responses through as they arrive: buffering would stall SSE streams.
        # A 101 (WebSocket upgrade) is left to mitmproxy's own upgrade handling.
        if flow.response is not None and flow.response.status_code != 101:
            flow.response.stream = True

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        if not message.from_client:
            return
        hosts = request_hosts(flow)
        for route in self._routes_present([message.content]):
            if not hosts <= route.hosts:
                log("blocked", host=flow.request.host.lower(), route=route.name, action="websocket_killed",
                    reason="dummy sent to unbound host")
                message.drop()
                flow.kill()
                return

    def _routes_present(self, haystacks: list[bytes]) -> list[Route]:
        found = []
        for route in self.routes:
            needles = [d.encode("utf-8") for d in route.dummies]
            if any(n in h for h in haystacks for n in needles):
                found.append(route)
        return found


addons = [BottleEgress()]
