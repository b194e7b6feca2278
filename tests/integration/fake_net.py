"""Fake network for bottle's integration tests (run by the C++ tests, never alone).

fake_net.py serve CERT KEY PORTS_FILE UPSTREAM_LOG PARENT_LOG: an HTTPS upstream that
logs each request (a JSON line) and echoes it (a WebSocket upgrade gets 101 and one
"hello" frame; on /ws-echo each client message then comes back), and a parent proxy -- standing in for pipelock -- that sends every
CONNECT to it; the ports go to PORTS_FILE. The parent listens on $FAKE_NET_BIND
(default 127.0.0.1), e.g. a Docker bridge address when egress runs in a container.
Paths under /reflect/ quote the request's Authorization header back (the threat
the egress reverse swap blocks): /reflect/header (a response header), plain (the
body), json (JSON-escaped the way Go does: "\/", "\u003c"...), url (URL-encoded),
base64 (base64 and base64url at all 3 byte offsets), gzip (gzipped whatever
Accept-Encoding said), br (an unscannable encoding), split (the value straddles two
chunks written 0.3 s apart), sse (an event, 1.5 s of silence, then an event quoting
it), close (a body framed by the connection's end, which comes without a TLS
close_notify) and ws (a WebSocket upgrade whose first frame quotes it).
fake_net.py ws PROXY_PORT CA HOST PATH HEADER VALUE: a WebSocket upgrade through the
proxy; prints the status line and the first frame.
fake_net.py fetch PROXY_PORT CA HOST PATH HEADER VALUE OUT: a GET through the proxy;
the raw response (head and body as they came, framing included) goes to OUT, and
stdout gets {"status", "first_data_s", "end_s"}: seconds from the request to the
first body bytes and to the end of the body.
fake_net.py pipelock LISTEN UPSTREAM ALLOWLIST_JSON LOG: what tests/fake_pipelock's
`run` becomes: a forward proxy on LISTEN (host:port) that sends each CONNECT to a host
on the allowlist (exact, or "*.x" for subdomains of x) to UPSTREAM (host:port, the
fake upstream), answers a plain request in absolute form (GET http://host/path) to an
allowed host itself (200, {"line": its request line}), any other with 403, serves
GET /health, and logs each request line to LOG. It names its process "pipelock", like the real one.

With $FAKE_NET_TOKENS naming a JSON state file, the upstream also plays the vendors'
token endpoints (POST /oauth/token: Codex, POST /v1/oauth/token: Claude). The state
file holds "mode" ("rotate", "dead": 401 refresh_token_expired / 400 invalid_grant,
"error": 500), "refresh_token" (the current real one; any other is rejected as
reused), "count" (refreshes served) and optionally "delay" (seconds) and "account_id" (in the Codex JWTs). Each refresh
rotates: refresh_token "rt-<count>", access_token (for Codex a JWT with exp 10 days
out, and an id_token), and the state file is rewritten.
"""
import base64, gzip, hashlib, http.server, json, os, socket, ssl, sys, threading, time, urllib.parse

TOKEN_LOCK = threading.Lock()

def pipe(a, b):
    try:
        while data := a.recv(65536): b.sendall(data)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass

def read_head(sock):
    """The request head and whatever followed it, or (None, b"") at EOF."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(4096)
        if not data: return None, b""
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest

def tunnel_to(client, address, rest):
    server = socket.create_connection(address)
    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    if rest: server.sendall(rest)
    threading.Thread(target=pipe, args=(client, server), daemon=True).start()
    pipe(server, client)

def fake_jwt(payload):
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    return enc(b'{"alg":"RS256","typ":"JWT"}') + "." + enc(json.dumps(payload).encode()) + "." + enc(b"sig")

def token_endpoint(path, body):
    """(status, reply) of the fake token endpoint, or None when it is not one."""
    state_file = os.environ.get("FAKE_NET_TOKENS")
    if not state_file or path not in ("/oauth/token", "/v1/oauth/token"):
        return None
    codex = path == "/oauth/token"
    with TOKEN_LOCK:
        with open(state_file) as f: state = json.load(f)
        time.sleep(state.get("delay", 0))
        try: request = json.loads(body)
        except ValueError: request = {}
        if state["mode"] == "error":
            return 500, {"error": "server_error"}
        if state["mode"] == "dead" or request.get("refresh_token") != state["refresh_token"]:
            code = "refresh_token_expired" if state["mode"] == "dead" else "refresh_token_reused"
            return (401, {"error": {"code": code}}) if codex else (400, {"error": "invalid_grant"})
        state["count"] += 1
        n = state["count"]
        state["refresh_token"] = f"rt-{n}"
        with open(state_file + ".tmp", "w") as f: json.dump(state, f)
        os.rename(state_file + ".tmp", state_file)
    if codex:
        now = int(time.time())
        auth = {"chatgpt_account_id": state.get("account_id", "acct-1"), "chatgpt_plan_type": "plus", "chatgpt_user_id": "user-1"}
        return 200, {"id_token": fake_jwt({"email": "u@example.com", "exp": now + 864000, "iat": now,
                                           "https://api.openai.com/auth": auth}),
                     "access_token": fake_jwt({"exp": now + 864000, "iat": now, "n": n,
                                               "https://api.openai.com/auth": auth}),
                     "refresh_token": f"rt-{n}"}
    return 200, {"token_type": "Bearer", "access_token": f"at-{n}", "refresh_token": f"rt-{n}",
                 "expires_in": 28800, "scope": "user:inference user:profile",
                 "account": {"uuid": "acct-1"}}

def reflect_bodies(mode, auth):
    """The body quoting `auth` for a one-piece /reflect/ mode, and its headers."""
    a = auth.encode()
    if mode == "header":
        return b"ok\n", [("X-Echo-Authorization", auth)]
    if mode == "plain":
        return b"you sent: " + a + b"\n", []
    if mode == "json":
        text = json.dumps({"authorization": auth}).replace("/", "\\/")
        for c, e in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
            text = text.replace(c, e)
        return text.encode(), [("Content-Type", "application/json")]
    if mode == "url":
        return b"next=" + urllib.parse.quote(auth, safe="").encode() + b"&x=1\n", []
    if mode == "base64":
        lines = [enc(pad + a) for pad in (b"", b"x", b"xy")
                 for enc in (base64.b64encode, base64.urlsafe_b64encode)]
        return b"\n".join(lines) + b"\n", []
    if mode == "gzip":
        return gzip.compress(b"you sent: " + a + b"\n"), [("Content-Encoding", "gzip")]
    if mode == "br":
        return b"\x0b\x02\x80" + a, [("Content-Encoding", "br")]  # not scannable as it streams
    return None

def reflect(handler, mode, auth):
    if mode == "ws":
        return websocket(handler, b"you sent: " + auth.encode())
    if mode in ("split", "sse"):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream" if mode == "sse" else "text/plain")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        half = len(auth) // 2
        first, second = ((b"data: first\n\n", b"data: " + auth.encode() + b"\n\n") if mode == "sse" else
                         (b"you sent: " + auth[:half].encode(), auth[half:].encode() + b"\n"))
        for i, piece in enumerate((first, second)):
            if i:
                time.sleep(1.5 if mode == "sse" else 0.3)
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")
        return
    if mode == "close":
        # No length, no chunks: the body ends with the connection, and the connection
        # ends with a bare TCP FIN, no TLS close_notify (SSLSocket.shutdown does not
        # send one), as some servers and middleboxes do.
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(b"you sent: " + auth.encode() + b"\nend\n")
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)
        return
    body, headers = reflect_bodies(mode, auth)
    handler.send_response(200)
    for k, v in headers + [("Content-Length", str(len(body)))]:
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(body)

def read_ws_frame(rfile):
    """One client frame: (opcode, unmasked payload), or None at EOF."""
    head = rfile.read(2)
    if len(head) < 2: return None
    n = head[1] & 0x7F
    if n == 126: n = int.from_bytes(rfile.read(2), "big")
    elif n == 127: n = int.from_bytes(rfile.read(8), "big")
    mask = rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = rfile.read(n)
    return head[0] & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(data))

def websocket(handler, first_frame, echo=False):
    accept = base64.b64encode(hashlib.sha1((handler.headers["Sec-WebSocket-Key"] +
        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    handler.send_response(101)
    for k, v in (("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept)):
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(bytes([0x81, len(first_frame)]) + first_frame)  # < 126 bytes
    handler.wfile.flush()
    while echo and (frame := read_ws_frame(handler.rfile)) is not None and frame[0] != 8:
        handler.wfile.write(bytes([0x80 | frame[0], len(frame[1])]) + frame[1])  # /ws-echo: < 126 bytes
        handler.wfile.flush()
    handler.rfile.read(1)  # until the client goes away
    handler.close_connection = True

CLAUDE_REPLY = "hello from the fake Anthropic API"

def messages(handler):
    """A streamed Messages API answer (what POST /v1/messages gets): one text block."""
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": "claude-fake", "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": CLAUDE_REPLY}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 8}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    body = b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("request-id", "req_fake")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)

def serve(cert, key, ports_file, upstream_log, parent_log):
    class Echo(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *args): pass
        def do_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            rec = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                   "body": self.rfile.read(n).decode("utf-8", "replace")}
            with open(upstream_log, "a") as f: f.write(json.dumps(rec) + "\n")
            token = token_endpoint(self.path, rec["body"]) if self.command == "POST" else None
            if token is not None:
                body = json.dumps(token[1]).encode()
                self.send_response(token[0])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.path.startswith("/reflect/"):
                return reflect(self, self.path[len("/reflect/"):], self.headers.get("Authorization", ""))
            if self.command == "POST" and self.path.split("?")[0] == "/v1/messages":
                return messages(self)
            if self.headers.get("Upgrade", "").lower() == "websocket":
                return websocket(self, b"hello", echo=self.path == "/ws-echo")
            body = json.dumps(rec).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        do_GET = do_POST = do_PUT = do_any
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    upstream.socket = tls.wrap_socket(upstream.socket, server_side=True)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()

    def tunnel(client):
        head, rest = read_head(client)
        if head is None: return client.close()
        line = head.split(b"\r\n")[0].decode()
        with open(parent_log, "a") as f: f.write(line + "\n")
        if not line.startswith("CONNECT "):
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return client.close()
        tunnel_to(client, upstream.server_address, rest)
    parent = socket.create_server((os.environ.get("FAKE_NET_BIND", "127.0.0.1"), 0))
    with open(ports_file + ".tmp", "w") as f:
        json.dump({"upstream": upstream.server_address[1], "parent": parent.getsockname()[1]}, f)
    os.rename(ports_file + ".tmp", ports_file)
    while True:
        conn, _ = parent.accept()
        threading.Thread(target=tunnel, args=(conn,), daemon=True).start()

def tls_through_proxy(proxy_port, ca, host):
    sock = socket.create_connection(("127.0.0.1", int(proxy_port)), timeout=20)
    sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply: reply += sock.recv(1)
    return ssl.create_default_context(cafile=ca).wrap_socket(sock, server_hostname=host)

def fetch(proxy_port, ca, host, path, header, value, out):
    tls = tls_through_proxy(proxy_port, ca, host)
    start = time.monotonic()
    tls.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{header}: {value}\r\n\r\n").encode())
    raw, first_data = b"", None
    while data := tls.recv(65536):
        raw += data
        if first_data is None and b"\r\n\r\n" in raw and raw.split(b"\r\n\r\n", 1)[1]:
            first_data = time.monotonic() - start
    end = time.monotonic() - start
    with open(out, "wb") as f: f.write(raw)
    print(json.dumps({"status": int(raw.split(b" ", 2)[1]) if raw else 0, "first_data_s": first_data, "end_s": end}))

def ws(proxy_port, ca, host, path, header, value):
    tls = tls_through_proxy(proxy_port, ca, host)
    tls.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                 f"{header}: {value}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head: head += tls.recv(1)
    print(head.split(b"\r\n")[0].decode())
    if b" 101 " in head.split(b"\r\n")[0] + b" ":
        frame = tls.recv(2)
        print(tls.recv(frame[1] & 0x7F).decode())

def pipelock(listen, upstream, allowlist_json, log):
    with open("/proc/self/comm", "w") as f: f.write("pipelock")
    allowlist = json.loads(allowlist_json)
    def allowed(host):
        return any(host == a or (a.startswith("*.") and host.endswith(a[1:])) for a in allowlist)
    upstream_host, upstream_port = upstream.rsplit(":", 1)
    def handle(client):
        head, rest = read_head(client)
        if head is None: return client.close()
        line = head.split(b"\r\n")[0].decode()
        with open(log, "a") as f: f.write(line + "\n")
        if line.startswith("GET /health "):
            body = json.dumps({"status": "healthy", "mode": "strict", "forward_proxy_enabled": True}).encode()
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                           b"Connection: close\r\n\r\n%s" % (len(body), body))
            return client.close()
        target = line.split()[1] if len(line.split()) == 3 else ""
        if target.startswith("http://"):
            # Plain HTTP comes in absolute form, as to the real forward proxy; the fake
            # plays the origin itself and answers with what it was asked.
            if not allowed((urllib.parse.urlsplit(target).hostname or "").lower()):
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return client.close()
            body = json.dumps({"line": line}).encode()
            client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                           b"Connection: close\r\n\r\n%s" % (len(body), body))
            return client.close()
        if not line.startswith("CONNECT "):
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return client.close()
        host = line.split()[1].rsplit(":", 1)[0].lower()
        if not allowed(host):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return client.close()
        tunnel_to(client, (upstream_host, int(upstream_port)), rest)
    host, port = listen.rsplit(":", 1)
    server = socket.create_server((host, int(port)))
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()

if __name__ == "__main__":
    {"serve": serve, "ws": ws, "fetch": fetch, "pipelock": pipelock}[sys.argv[1]](*sys.argv[2:])
