"""Fake network for bottle's integration tests (run by the C++ tests, never alone).

fake_net.py serve CERT KEY PORTS_FILE UPSTREAM_LOG PARENT_LOG: an HTTPS upstream that
logs each request (a JSON line) and echoes it (a WebSocket upgrade gets 101 and one
"hello" frame), and a parent proxy -- standing in for pipelock -- that sends every
CONNECT to it; the ports go to PORTS_FILE. The parent listens on $FAKE_NET_BIND
(default 127.0.0.1), e.g. a Docker bridge address when egress runs in a container.
fake_net.py ws PROXY_PORT CA HOST PATH HEADER VALUE: a WebSocket upgrade through the
proxy; prints the status line and the first frame.
"""
import base64, hashlib, http.server, json, os, socket, ssl, sys, threading

def serve(cert, key, ports_file, upstream_log, parent_log):
    class Echo(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *args): pass
        def do_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            rec = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                   "body": self.rfile.read(n).decode("utf-8", "replace")}
            with open(upstream_log, "a") as f: f.write(json.dumps(rec) + "\n")
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

    def pipe(a, b):
        try:
            while data := a.recv(65536): b.sendall(data)
        except OSError: pass
        for s in (a, b):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
    def tunnel(client):
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = client.recv(4096)
            if not data: return client.close()
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        line = head.split(b"\r\n")[0].decode()
        with open(parent_log, "a") as f: f.write(line + "\n")
        if not line.startswith("CONNECT "):
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return client.close()
        server = socket.create_connection(upstream.server_address)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest: server.sendall(rest)
        threading.Thread(target=pipe, args=(client, server), daemon=True).start()
        pipe(server, client)
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

if __name__ == "__main__":
    {"serve": serve, "ws": ws}[sys.argv[1]](*sys.argv[2:])
