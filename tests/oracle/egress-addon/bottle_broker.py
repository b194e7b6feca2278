"""bottle token broker: answers a bottle's token refreshes locally (loaded by bottle_egress.py).

A bottle holds dummy credentials. When its agent refreshes them it POSTs its dummy
refresh token to the vendor's token endpoint; egress hands that request to the
broker of the route it belongs to, and nothing from it ever goes upstream:

  * refresh grant -> 200 with fresh dummies minted from the host's CURRENT real token:
      codex:  {"id_token", "access_token"}: dummy JWTs keeping every real claim (exp,
              the auth block, ...) plus "bottle_dummy": true and a fresh jti,
              "refresh_token": the bottle's placeholder, "token_type", "expires_in";
      claude: {"token_type": "Bearer", "access_token": <new sk-ant-oat01- dummy>,
              "refresh_token": the placeholder, "expires_in": real expiresAt - now,
              "scope": real scopes}.
    The new dummy access token is added to the route's dummies (egress swaps it like
    the original one).
  * the host token itself inside its refresh window (5 minutes) -> exactly one host
    refresh, serialised across threads, bottles and processes by an flock on
    the host credential file itself (see host_lock; no lock file is created); under the lock the host file is re-read first and a
    token someone else refreshed meanwhile is reused. The refresh is a real request
    with the REAL refresh token (through egress's parent proxy); the rotated tokens
    are written back into the host file atomically (temp + fsync + rename, every
    other field, the mode and the owner kept).
  * the host session is dead (401, refresh_token_expired/reused/invalidated,
    invalid_grant) -> the agent's "sign in again" error (codex: 401
    {"error": {"code": "refresh_token_expired"}}; claude: 400 invalid_grant);
    temporarily unable (upstream 5xx/other, network, lock timeout) -> 503.
  * revoke / logout on the token hosts -> 200 {} locally (a bottle's logout must
    never revoke the host's session).
  * any other grant (a login inside the bottle) or an unknown refresh token -> 403.

No real token appears in a log line, an error message or a response.

Run as a program, it refreshes the host login before a bottle is minted from it (what
`bottle-egress ensure-fresh` does for bottle-cli create), with the same lock, re-read
and write-back as above:

  python3 bottle_broker.py ensure-fresh --kind codex|claude --host-file PATH
      --min-valid SECONDS [--proxy http://HOST:PORT] [--cafile PATH]

refreshes only when the host access token expires within SECONDS. Exit status 0
(stdout "fresh" or "refreshed"), 3 when the host session is dead (sign in again on
the host), 4 when the refresh failed for now; 2 is a usage error. Nothing secret is
taken from argv or printed.
"""

import base64
import contextlib
import datetime
import errno
import fcntl
import json
import os
import sys
import secrets
import stat
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass

REFRESH_WINDOW_S = 5 * 60
EXIT_SIGN_IN_AGAIN = 3
EXIT_TRANSIENT = 4
LOCK_TIMEOUT_S = 30.0
UPSTREAM_TIMEOUT_S = 30.0

DUMMY_CLAIM = "bottle_dummy"
DUMMY_JWT_HEADER = '{"alg":"RS256","typ":"JWT","kid":"bottle-dummy"}'
DUMMY_JWT_SIGNATURE = "Ym90dGxlLWR1bW15LXNpZ25hdHVyZQ"  # b64url("bottle-dummy-signature"), as jwt.cpp
CLAUDE_ACCESS_PREFIX = "sk-ant-oat01-"

PERMANENT_CODES = {"refresh_token_expired", "refresh_token_reused", "refresh_token_invalidated", "invalid_grant"}

KINDS = {
    "codex": {
        "token_url": "https://auth.openai.com/oauth/token",
        "token_hosts": ["auth.openai.com"],
        "token_path": "/oauth/token",
        "revoke_paths": ["/oauth/revoke"],
        "refresh_pointer": "/tokens/refresh_token",
        "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
    },
    "claude": {
        "token_url": "https://platform.claude.com/v1/oauth/token",
        "token_hosts": ["platform.claude.com", "console.anthropic.com"],
        "token_path": "/v1/oauth/token",
        "revoke_paths": ["/v1/oauth/revoke", "/v1/oauth/logout", "/oauth/revoke", "/api/oauth/revoke"],
        "refresh_pointer": "/claudeAiOauth/refreshToken",
        "client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
    },
}


class BrokerError(Exception):
    """Why a refresh could not be answered with fresh dummies; names no secret."""

    def __init__(self, permanent: bool, reason: str):
        super().__init__(reason)
        self.permanent = permanent
        self.reason = reason


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_payload(token: str) -> dict:
    parts = token.split(".")
    if len(parts) != 3:
        raise BrokerError(False, "host token is not a JWT")
    try:
        payload = json.loads(b64url_decode(parts[1]))
    except ValueError:
        raise BrokerError(False, "host token payload is not JSON") from None
    if not isinstance(payload, dict):
        raise BrokerError(False, "host token payload is not an object")
    return payload


def mint_dummy_jwt(real_payload: dict) -> str:
    payload = dict(real_payload)
    payload[DUMMY_CLAIM] = True
    payload["jti"] = "bottle-" + secrets.token_hex(16)
    return ".".join([b64url(DUMMY_JWT_HEADER.encode()),
                     b64url(json.dumps(payload, separators=(",", ":")).encode()), DUMMY_JWT_SIGNATURE])


def pointer_parts(pointer: str) -> list[str]:
    if not pointer.startswith("/"):
        raise ValueError("JSON pointer must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def pointer_get(document, pointer: str):
    node = document
    for part in pointer_parts(pointer):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def pointer_parent(document, pointer: str) -> dict:
    """The object holding the pointer's last key (the token block)."""
    node = document
    for part in pointer_parts(pointer)[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        raise BrokerError(False, "host file has no token block")
    return node


@dataclass
class BrokerConfig:
    kind: str
    token_url: str
    token_hosts: frozenset
    token_path: str
    revoke_paths: frozenset
    refresh_pointer: str
    client_id: str
    dummy_refresh_tokens: frozenset  # empty: any refresh token from the bottle is its placeholder

    @staticmethod
    def from_json(doc) -> "BrokerConfig":
        if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
            raise ValueError("broker.kind must be \"codex\" or \"claude\"")
        d = {**KINDS[doc["kind"]], **{k: v for k, v in doc.items() if v is not None}}
        url = urllib.parse.urlsplit(str(d["token_url"]))
        if url.scheme != "https" or not url.hostname:
            raise ValueError("broker.token_url must be an https URL")
        hosts = {str(h).lower() for h in d["token_hosts"]} | {url.hostname.lower()}
        return BrokerConfig(kind=d["kind"], token_url=str(d["token_url"]), token_hosts=frozenset(hosts),
                            token_path=str(d["token_path"]), revoke_paths=frozenset(map(str, d["revoke_paths"])),
                            refresh_pointer=str(d["refresh_pointer"]), client_id=str(d["client_id"]),
                            dummy_refresh_tokens=frozenset(map(str, d.get("dummy_refresh_tokens", []))))


@dataclass
class Answer:
    status: int
    body: dict
    event: str    # for the log: minted / refreshed / revoked / permanent / transient / blocked
    reason: str = ""
    new_dummy: str | None = None  # a new dummy access token egress must accept from now on
    # Other dummies the bottle now holds (a minted id token, its refresh placeholder):
    # egress guards them like the access dummies.
    new_guarded: tuple = ()


def json_answer_error(kind: str, permanent: bool, reason: str) -> Answer:
    if permanent:
        message = "The host's login has expired or was revoked. Sign in again on the host."
        if kind == "codex":  # Codex classifies 401 / refresh_token_expired as permanent
            return Answer(401, {"error": {"code": "refresh_token_expired", "message": message}}, "permanent", reason)
        return Answer(400, {"error": "invalid_grant", "error_description": message}, "permanent", reason)
    return Answer(503, {"error": {"code": "temporarily_unavailable",
                                  "message": "bottle token broker is temporarily unable to refresh"}},
                  "transient", reason)


def default_fetch(url: str, body: bytes, headers: dict, proxy: str | None, cafile: str | None):
    """POST `body` to `url` (through `proxy`); returns (status, body bytes). Raises OSError."""
    import ssl
    import urllib.request
    context = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
    handlers = [urllib.request.HTTPSHandler(context=context),
                urllib.request.ProxyHandler({"https": proxy} if proxy else {})]
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=UPSTREAM_TIMEOUT_S) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _flock_until(fd: int, deadline: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                raise BrokerError(False, "lock timeout") from None
            time.sleep(0.05)


def _lock_current_file(path: str, deadline: float) -> int:
    """An fd of `path`, flocked, whose inode is still the one `path` names."""
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise BrokerError(False, f"cannot open host credential file to lock it ({e.strerror})") from None
        try:
            _flock_until(fd, deadline)
            held, current = os.fstat(fd), os.stat(path)
            if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
                return fd
        except OSError as e:
            os.close(fd)
            raise BrokerError(False, f"cannot lock host credential file ({e.strerror})") from None
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # replaced while we waited: lock the new file instead


@contextlib.contextmanager
def host_lock(host_file: str, timeout: float):
    """Exclusive flock on the host credential file itself: one refresher across
    threads, bottles' egress and the host's ensure-fresh, and no lock file left in
    the user's credential directory.

    The write-back replaces the file by rename, and a lock held on the old inode
    does not exclude whoever opens the path afterwards. So a lock counts only once
    the path still names the locked inode (else it is taken again on the new file);
    and a holder replaces the file only as the last step under its lock, so a waiter
    that got the old inode meanwhile re-reads a file already written. Symlinks are
    resolved first, as write_atomically replaces the target.
    """
    path = os.path.realpath(host_file)
    with _process_locks_guard:
        thread_lock = _process_locks.setdefault(path, threading.Lock())
    deadline = time.monotonic() + timeout
    if not thread_lock.acquire(timeout=timeout):
        raise BrokerError(False, "lock timeout")
    try:
        fd = _lock_current_file(path, deadline)
        try:
            yield
        finally:
            os.close(fd)  # releases the flock
    finally:
        thread_lock.release()


STALE_TEMP_AGE_S = 600


def write_atomically(path: str, text: str, new_file_mode: int | None = None) -> None:
    """Replace `path` by a new file in the same directory, keeping its mode and owner.

    A missing `path` is an error, unless `new_file_mode` says what mode to create it
    with. On failure `path` is untouched and the temporary file is removed; one left
    by a killed writer (".NAME.XXXXXXXX.tmp") is removed by a later write once stale.
    A symlink (say, a login file kept with the user's dotfiles) stays a symlink: its
    target is what gets replaced.
    """
    path = os.path.realpath(path)
    try:
        st = os.stat(path)
        mode, owner = st.st_mode & 0o7777, (st.st_uid, st.st_gid)
    except FileNotFoundError:
        if new_file_mode is None:
            raise
        mode, owner = new_file_mode, None
    directory = os.path.dirname(path) or "."
    prefix = "." + os.path.basename(path) + "."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            if owner is not None:
                with contextlib.suppress(OSError):
                    os.fchown(f.fileno(), *owner)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # The new file is in place: syncing the directory (the rename's durability) and
    # tidying up must not turn that into a reported failure.
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    remove_stale_temps(directory, prefix)


def remove_stale_temps(directory: str, prefix: str) -> None:
    """Remove temporary files of killed writers: "<prefix>XXXXXXXX.tmp", regular, old."""
    with contextlib.suppress(OSError):
        now = time.time()
        for name in os.listdir(directory):
            if not (name.startswith(prefix) and name.endswith(".tmp") and len(name) == len(prefix) + 12):
                continue
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(directory, name))
                if stat.S_ISREG(st.st_mode) and now - st.st_mtime >= STALE_TEMP_AGE_S:
                    os.unlink(os.path.join(directory, name))


def rfc3339_now(now: float) -> str:
    return datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Broker:
    """The broker of one route: `host_file` is the route's value_file."""

    def __init__(self, config: BrokerConfig, host_file: str, fetch=None, proxy: str | None = None,
                 cafile: str | None = None, clock=time.time, lock_timeout: float = LOCK_TIMEOUT_S,
                 refresh_window: float = REFRESH_WINDOW_S):
        self.config = config
        self.host_file = os.path.expanduser(host_file)
        self.fetch = fetch or default_fetch
        self.proxy, self.cafile, self.clock, self.lock_timeout = proxy, cafile, clock, lock_timeout
        self.refresh_window = refresh_window

    # -- what the broker answers ------------------------------------------------

    def handles(self, host: str, path: str) -> bool:
        path = path.split("?", 1)[0]
        return host.lower() in self.config.token_hosts and (
            path == self.config.token_path or path in self.config.revoke_paths)

    def answer(self, method: str, path: str, body: bytes, content_type: str = "") -> Answer:
        path = path.split("?", 1)[0]
        if path in self.config.revoke_paths:
            return Answer(200, {}, "revoked")
        if method != "POST":
            return Answer(405, {"error": "method_not_allowed"}, "blocked", "not a POST")
        form = parse_body(body, content_type)
        if form.get("grant_type") != "refresh_token":
            return Answer(403, {"error": "unauthorized_client",
                                "error_description": "bottle: only token refresh is allowed from a bottle"},
                          "blocked", "grant other than refresh_token")
        rt = form.get("refresh_token")
        if not isinstance(rt, str) or not rt or (
                self.config.dummy_refresh_tokens and rt not in self.config.dummy_refresh_tokens):
            return Answer(403, {"error": "unauthorized_client",
                                "error_description": "bottle: unknown refresh token"},
                          "blocked", "refresh token is not this bottle's placeholder")
        try:
            doc, refreshed, extra = self.current_host_login()
            return self.mint(doc, rt, refreshed, extra)
        except BrokerError as e:
            return json_answer_error(self.config.kind, e.permanent, e.reason)

    # -- the host login -------------------------------------------------------

    def read_host(self) -> dict:
        try:
            with open(self.host_file, encoding="utf-8") as f:
                doc = json.load(f)
        except OSError as e:
            raise BrokerError(False, f"cannot read host credential file ({e.strerror})") from None
        except ValueError:
            raise BrokerError(False, "host credential file is not valid JSON") from None
        if not isinstance(doc, dict):
            raise BrokerError(False, "host credential file is not a JSON object")
        return doc

    def expiry(self, doc: dict) -> float | None:
        """Seconds since the epoch when the host access token expires (None: unknown)."""
        if self.config.kind == "codex":
            at = pointer_parent(doc, self.config.refresh_pointer).get("access_token")
            if not isinstance(at, str):
                raise BrokerError(False, "host file has no access token")
            exp = jwt_payload(at).get("exp")
            return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None
        ms = pointer_parent(doc, self.config.refresh_pointer).get("expiresAt")
        if not isinstance(ms, (int, float)) or isinstance(ms, bool):
            raise BrokerError(False, "host file has no expiresAt")
        return ms / 1000.0

    def fresh(self, doc: dict) -> bool:
        exp = self.expiry(doc)
        return exp is None or exp > self.clock() + self.refresh_window

    def current_host_login(self):
        """(host document, whether this call refreshed it, extra response fields)."""
        doc = self.read_host()
        if self.fresh(doc):
            return doc, False, {}
        with host_lock(self.host_file, self.lock_timeout):
            doc = self.read_host()  # someone (host CLI, another bottle) may have refreshed meanwhile
            if self.fresh(doc):
                return doc, False, {}
            return self.refresh_host(doc)

    def refresh_host(self, doc: dict):
        real_rt = pointer_get(doc, self.config.refresh_pointer)
        if not isinstance(real_rt, str) or not real_rt:
            raise BrokerError(True, "host file has no refresh token")
        block = pointer_parent(doc, self.config.refresh_pointer)
        client_id = block.get("clientId") if isinstance(block.get("clientId"), str) else self.config.client_id
        body = json.dumps({"client_id": client_id, "grant_type": "refresh_token",
                           "refresh_token": real_rt}).encode()
        try:
            status, raw = self.fetch(self.config.token_url, body, {"Content-Type": "application/json",
                                                                   "Accept": "application/json"},
                                     self.proxy, self.cafile)
        except Exception as e:  # network, TLS, proxy: transient
            raise BrokerError(False, f"upstream refresh failed ({type(e).__name__})") from None
        try:
            reply = json.loads(raw or b"{}")
        except ValueError:
            reply = {}
        if not isinstance(reply, dict):
            reply = {}
        if status != 200:
            code = error_code(reply)
            if status == 401 or code in PERMANENT_CODES:
                raise BrokerError(True, f"upstream refresh rejected (HTTP {status}, {code or 'no code'})")
            raise BrokerError(False, f"upstream refresh failed (HTTP {status})")
        if not isinstance(reply.get("access_token"), str) or not reply["access_token"]:
            raise BrokerError(False, "upstream refresh answered without an access token")
        now = self.clock()
        if self.config.kind == "codex":
            for key in ("id_token", "access_token", "refresh_token"):
                if isinstance(reply.get(key), str) and reply[key]:
                    block[key] = reply[key]
            jwt_payload(block["access_token"])  # refuse to store garbage
            doc["last_refresh"] = rfc3339_now(now)
            extra = {}
        else:
            block["accessToken"] = reply["access_token"]
            if isinstance(reply.get("refresh_token"), str) and reply["refresh_token"]:
                block["refreshToken"] = reply["refresh_token"]
            expires_in = reply.get("expires_in")
            if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
                block["expiresAt"] = int(now * 1000 + expires_in * 1000)
            if isinstance(reply.get("scope"), str) and reply["scope"].strip():
                block["scopes"] = reply["scope"].split()
            extra = {k: reply[k] for k in ("account", "organization") if k in reply}
        try:
            write_atomically(self.host_file, json.dumps(doc, indent=2) + "\n")
        except OSError as e:
            # The rotated token is lost with this failure; the host must log in again
            # if upstream already consumed the old one. Say so without a secret.
            raise BrokerError(False, f"cannot write the host credential file ({e.strerror})") from None
        return doc, True, extra

    # -- the bottle's answer --------------------------------------------------

    def mint(self, doc: dict, dummy_rt: str, refreshed: bool, extra: dict) -> Answer:
        now = self.clock()
        block = pointer_parent(doc, self.config.refresh_pointer)
        event = "refreshed" if refreshed else "minted"
        if self.config.kind == "codex":
            at_payload = jwt_payload(block.get("access_token", ""))
            id_token = block.get("id_token")
            id_payload = jwt_payload(id_token) if isinstance(id_token, str) else dict(at_payload)
            new_at = mint_dummy_jwt(at_payload)
            body = {"id_token": mint_dummy_jwt(id_payload), "access_token": new_at,
                    "refresh_token": dummy_rt, "token_type": "Bearer"}
            exp = at_payload.get("exp")
            if isinstance(exp, int) and not isinstance(exp, bool):
                body["expires_in"] = max(0, int(exp - now))
            return Answer(200, body, event, new_dummy=new_at, new_guarded=(body["id_token"], dummy_rt))
        new_at = CLAUDE_ACCESS_PREFIX + b64url(secrets.token_bytes(71))  # 95 characters, like real tokens
        scopes = block.get("scopes")
        body = {"token_type": "Bearer", "access_token": new_at, "refresh_token": dummy_rt,
                "expires_in": max(0, int(self.expiry(doc) - now)),
                "scope": " ".join(scopes) if isinstance(scopes, list) else ""}
        body.update(extra)
        return Answer(200, body, event, new_dummy=new_at, new_guarded=(dummy_rt,))


def error_code(reply: dict) -> str:
    """Where Codex looks for the code: error.code, error (a string), code."""
    err = reply.get("error")
    if isinstance(err, dict) and isinstance(err.get("code"), str):
        return err["code"]
    if isinstance(err, str):
        return err
    return reply["code"] if isinstance(reply.get("code"), str) else ""


def parse_body(body: bytes, content_type: str) -> dict:
    text = body.decode("utf-8", "replace") if body else ""
    if "json" in content_type.lower() or text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
            return doc if isinstance(doc, dict) else {}
        except ValueError:
            return {}
    return dict(urllib.parse.parse_qsl(text))


class DummyStore:
    """The dummies minted per route, persisted (atomically, 0600) so a restart keeps them."""

    MAX_PER_ROUTE = 64

    def __init__(self, path: str | None):
        self.path = path
        self.lock = threading.Lock()
        self.routes: dict[str, list[str]] = {}
        self.guarded: dict[str, list[str]] = {}
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    doc = json.load(f)
                self.routes = {str(k): [str(d) for d in v] for k, v in doc.get("routes", {}).items()}
                self.guarded = {str(k): [str(d) for d in v] for k, v in doc.get("guarded", {}).items()}
            except (OSError, ValueError, AttributeError):
                self.routes, self.guarded = {}, {}

    def get(self, route: str, guarded: bool = False) -> list[str]:
        with self.lock:
            return list((self.guarded if guarded else self.routes).get(route, []))

    def add(self, route: str, dummy: str, guarded: bool = False) -> None:
        """`guarded`: a dummy egress only guards (id token, refresh placeholder)."""
        with self.lock:
            dummies = (self.guarded if guarded else self.routes).setdefault(route, [])
            dummies.append(dummy)
            del dummies[:-self.MAX_PER_ROUTE]
            if not self.path:
                return
            write_atomically(self.path, json.dumps({"version": 1, "routes": self.routes, "guarded": self.guarded}),
                             new_file_mode=0o600)


SIGN_IN_HINTS = {"codex": "run `codex login` on the host", "claude": "run `claude`, then /login, on the host"}


def main(argv=None, fetch=None, clock=time.time, out=None, err=None) -> int:
    """The command line above; `fetch` and `clock` are the tests' seams."""
    import argparse
    out, err = out or sys.stdout, err or sys.stderr
    parser = argparse.ArgumentParser(prog="bottle_broker.py", description="bottle token broker, run on the host")
    commands = parser.add_subparsers(dest="command", required=True)
    ensure = commands.add_parser("ensure-fresh", help="refresh the host login if it expires soon")
    ensure.add_argument("--kind", required=True, choices=sorted(KINDS))
    ensure.add_argument("--host-file", required=True)
    ensure.add_argument("--min-valid", required=True, type=int, help="seconds the access token must stay valid")
    ensure.add_argument("--proxy", help="http://HOST:PORT for the token request")
    ensure.add_argument("--cafile", help="CA bundle the token endpoint is verified with")
    args = parser.parse_args(argv)
    broker = Broker(BrokerConfig.from_json({"kind": args.kind}), args.host_file, fetch=fetch, proxy=args.proxy,
                    cafile=args.cafile, clock=clock, refresh_window=args.min_valid)
    try:
        _, refreshed, _ = broker.current_host_login()
    except BrokerError as e:
        if e.permanent:
            print(f"bottle_broker.py: the host's {args.kind} login has expired or was revoked ({e.reason}); "
                  f"sign in again: {SIGN_IN_HINTS[args.kind]}", file=err)
            return EXIT_SIGN_IN_AGAIN
        print(f"bottle_broker.py: could not refresh the host's {args.kind} login for now ({e.reason})", file=err)
        return EXIT_TRANSIENT
    except Exception as e:  # a bug or an odd file: say what kind, never a value
        print(f"bottle_broker.py: could not refresh the host's {args.kind} login ({type(e).__name__})", file=err)
        return EXIT_TRANSIENT
    print("refreshed" if refreshed else "fresh", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
