"""Fake network for bottle's integration tests (run by the C++ tests, never alone).

fake_net.py serve CERT KEY PORTS_FILE UPSTREAM_LOG PARENT_LOG: an HTTPS upstream that
logs each request (a JSON line) and echoes it (a WebSocket upgrade gets 101 and one
"hello" frame), and a parent proxy -- standing in for pipelock -- that sends every
CONNECT to it; the ports go to PORTS_FILE. The parent listens on $FAKE_NET_BIND
(default 127.0.0.1), e.g. a Docker bridge address when egress runs in a container.
fake_net.py ws PROXY_PORT CA HOST PATH HEADER VALUE: a WebSocket upgrade through the
proxy; prints the status line and the first frame.
fake_net.py pipelock LISTEN UPSTREAM ALLOWLIST_JSON LOG: what tests/fake_pipelock's
`run` becomes: a forward proxy on LISTEN (host:port) that sends each CONNECT to a host
on the allowlist (exact, or "*.x" for subdomains of x) to UPSTREAM (host:port, the
fake upstream), answers any other with 403, serves GET /health, and logs each request
line to LOG. It names its process "pipelock", like the real one.

With $FAKE_NET_TOKENS naming a JSON state file, the upstream also plays the vendors'
token endpoints (POST /oauth/token: Codex, POST /v1/oauth/token: Claude). The state
file holds "mode" ("rotate", "dead": 401 refresh_token_expired / 400 invalid_grant,
"error": 500), "refresh_token" (the current real one; any other is rejected as
reused), "count" (refreshes served) and optionally "delay" (seconds) and "account_id" (in the Codex JWTs). Each refresh
rotates: refresh_token "rt-<count>", access_token (for Codex a JWT with exp 10 days
out, and an id_token), and the state file is rewritten.
"""
import base64, hashlib, http.server, json, os, socket, ssl, sys, threading, time

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
            if self.headers.get("Upgrade", "").lower() == "websocket":
                accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] +
                    "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
                self.send_response(101)
                for k, v in (("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept)):
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(b"\x81\x05hello")
                self.wfile.flush()
                self.rfile.read(1)  # until the client goes away
                self.close_connection = True
                return
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

def ws(proxy_port, ca, host, path, header, value):
    sock = socket.create_connection(("127.0.0.1", int(proxy_port)), timeout=20)
    sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply: reply += sock.recv(1)
    tls = ssl.create_default_context(cafile=ca).wrap_socket(sock, server_hostname=host)
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
    {"serve": serve, "ws": ws, "pipelock": pipelock}[sys.argv[1]](*sys.argv[2:])
