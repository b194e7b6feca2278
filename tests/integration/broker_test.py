"""Logic tests of the token broker (tests/oracle/egress-addon/bottle_broker.py).

Run by the Catch2 test "[broker]" as: python3 -m unittest broker_test (cwd: this
directory, BOTTLE_EGRESS_DIR = tests/oracle/egress-addon). The upstream is a fake fetch
function; no network. Assertions never print a token.
"""
import base64, errno, json, os, random, resource, signal, stat, sys, tempfile, threading, time, unittest
from unittest import mock

sys.path.insert(0, os.environ.get("BOTTLE_EGRESS_DIR", os.path.join(os.path.dirname(__file__), "../oracle/egress-addon")))
import bottle_broker as bb  # noqa: E402

NOW = 1_900_000_000


def jwt(payload):
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    return enc(b'{"alg":"RS256"}') + "." + enc(json.dumps(payload).encode()) + "." + enc(b"sig")


def claims(token):
    return json.loads(bb.b64url_decode(token.split(".")[1]))


AUTH = {"chatgpt_account_id": "acct-1", "chatgpt_plan_type": "plus"}


def codex_doc(exp, n=0):
    return {"auth_mode": "chatgpt", "OPENAI_API_KEY": None, "extra": {"keep": 1},
            "tokens": {"id_token": jwt({"email": "u@x", "exp": exp, "https://api.openai.com/auth": AUTH}),
                       "access_token": jwt({"exp": exp, "n": n, "https://api.openai.com/auth": AUTH}),
                       "refresh_token": f"real-rt-{n}", "account_id": "acct-1"},
            "last_refresh": "2026-01-01T00:00:00Z"}


def claude_doc(expires_at_ms):
    return {"claudeAiOauth": {"accessToken": "real-at-0", "refreshToken": "real-rt-0", "expiresAt": expires_at_ms,
                              "scopes": ["user:inference", "user:profile"], "subscriptionType": "max"},
            "mcpOAuth": {"x": 1}}


class FakeUpstream:
    def __init__(self, kind, status=200, delay=0.0, fail=None):
        self.kind, self.status, self.delay, self.fail = kind, status, delay, fail
        self.calls = 0
        self.lock = threading.Lock()
        self.seen_rt = []

    def __call__(self, url, body, headers, proxy, cafile):
        with self.lock:
            self.calls += 1
            n = self.calls
        self.seen_rt.append(json.loads(body)["refresh_token"])
        time.sleep(self.delay)
        if self.fail:
            raise self.fail
        if self.status != 200:
            return self.status, json.dumps(self.error_body).encode()
        if self.kind == "codex":
            exp = NOW + 864000
            return 200, json.dumps({"id_token": jwt({"email": "u@x", "exp": exp, "https://api.openai.com/auth": AUTH}),
                                    "access_token": jwt({"exp": exp, "n": n, "https://api.openai.com/auth": AUTH}),
                                    "refresh_token": f"real-rt-{n}"}).encode()
        return 200, json.dumps({"access_token": f"real-at-{n}", "refresh_token": f"real-rt-{n}",
                                "expires_in": 28800, "scope": "user:inference user:profile",
                                "account": {"uuid": "a"}}).encode()

    error_body = {}


class BrokerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def broker(self, kind, doc, upstream, mode=0o600):
        path = os.path.join(self.dir.name, "auth.json" if kind == "codex" else ".credentials.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        os.chmod(path, mode)
        config = bb.BrokerConfig.from_json({"kind": kind, "dummy_refresh_tokens": ["dummy-rt-123"]})
        return bb.Broker(config, path, fetch=upstream, clock=lambda: NOW, lock_timeout=5), path

    def refresh(self, broker, rt="dummy-rt-123", grant="refresh_token"):
        body = json.dumps({"grant_type": grant, "refresh_token": rt, "client_id": "c"}).encode()
        return broker.answer("POST", broker.config.token_path, body, "application/json")

    def test_codex_fresh_host_token_minted_without_upstream(self):
        up = FakeUpstream("codex")
        broker, path = self.broker("codex", codex_doc(NOW + 3600), up)
        a = self.refresh(broker)
        self.assertEqual(a.status, 200)
        self.assertEqual(up.calls, 0)
        self.assertEqual(a.body["refresh_token"], "dummy-rt-123")
        self.assertEqual(a.body["expires_in"], 3600)
        at, it = claims(a.body["access_token"]), claims(a.body["id_token"])
        self.assertEqual(at["exp"], NOW + 3600)
        self.assertTrue(at["bottle_dummy"] is True and it["bottle_dummy"] is True)
        self.assertTrue(at["jti"].startswith("bottle-") and len(at["jti"]) == 39)
        self.assertEqual(it["https://api.openai.com/auth"]["chatgpt_account_id"], "acct-1")
        self.assertEqual(it["email"], "u@x")
        self.assertEqual(a.body["access_token"].split(".")[2], bb.DUMMY_JWT_SIGNATURE)
        self.assertNotEqual(self.refresh(broker).body["access_token"], a.body["access_token"])  # fresh jti
        self.assertEqual(a.new_dummy, a.body["access_token"])
        self.assertFalse("real-rt" in json.dumps(a.body))

    def test_claude_fresh_host_token_minted(self):
        up = FakeUpstream("claude")
        broker, _ = self.broker("claude", claude_doc((NOW + 7200) * 1000), up)
        a = self.refresh(broker)
        self.assertEqual(a.status, 200)
        self.assertEqual(up.calls, 0)
        self.assertEqual(a.body["token_type"], "Bearer")
        self.assertEqual(a.body["expires_in"], 7200)
        self.assertEqual(a.body["scope"], "user:inference user:profile")
        self.assertEqual(a.body["refresh_token"], "dummy-rt-123")
        self.assertTrue(a.body["access_token"].startswith("sk-ant-oat01-"))
        self.assertEqual(len(a.body["access_token"]), len("sk-ant-oat01-") + 95)

    def test_codex_near_expiry_refreshes_and_writes_back(self):
        up = FakeUpstream("codex")
        broker, path = self.broker("codex", codex_doc(NOW + 60), up, mode=0o640)
        a = self.refresh(broker)
        self.assertEqual(a.status, 200)
        self.assertEqual(up.calls, 1)
        self.assertEqual(up.seen_rt, ["real-rt-0"])  # the REAL refresh token went upstream
        self.assertEqual(a.body["expires_in"], 864000)
        self.assertEqual(claims(a.body["access_token"])["exp"], NOW + 864000)
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual(doc["tokens"]["refresh_token"], "real-rt-1")
        self.assertEqual(claims(doc["tokens"]["access_token"])["n"], 1)
        self.assertEqual(doc["extra"], {"keep": 1})
        self.assertEqual(doc["tokens"]["account_id"], "acct-1")
        self.assertNotEqual(doc["last_refresh"], "2026-01-01T00:00:00Z")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)
        self.assertEqual(sorted(os.listdir(self.dir.name)), ["auth.json"])

    def test_claude_near_expiry_refreshes_and_writes_back(self):
        up = FakeUpstream("claude")
        broker, path = self.broker("claude", claude_doc((NOW + 60) * 1000), up)
        a = self.refresh(broker)
        self.assertEqual((a.status, up.calls), (200, 1))
        self.assertEqual(a.body["expires_in"], 28800)
        self.assertEqual(a.body["account"], {"uuid": "a"})
        with open(path) as f:
            doc = json.load(f)
        o = doc["claudeAiOauth"]
        self.assertEqual((o["accessToken"], o["refreshToken"], o["expiresAt"]), ("real-at-1", "real-rt-1", (NOW + 28800) * 1000))
        self.assertEqual(o["subscriptionType"], "max")
        self.assertEqual(doc["mcpOAuth"], {"x": 1})
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_reuse_when_host_refreshed_meanwhile(self):
        up = FakeUpstream("codex")
        broker, path = self.broker("codex", codex_doc(NOW + 60), up)
        first = broker.read_host
        def host_cli_refreshes_after_first_read():
            doc = first()
            with open(path, "w") as f:
                json.dump(codex_doc(NOW + 86400, n=7), f)
            broker.read_host = first
            return doc
        broker.read_host = host_cli_refreshes_after_first_read
        a = self.refresh(broker)
        self.assertEqual((a.status, up.calls), (200, 0))
        self.assertEqual(claims(a.body["access_token"])["n"], 7)
        self.assertEqual(a.body["expires_in"], 86400)

    def test_concurrent_requesters_one_refresh(self):
        up = FakeUpstream("codex", delay=0.3)
        broker, path = self.broker("codex", codex_doc(NOW + 60), up)
        # Separate brokers on the same file stand in for other bottles' egress.
        others = [bb.Broker(broker.config, path, fetch=up, clock=lambda: NOW) for _ in range(4)]
        results = []
        threads = [threading.Thread(target=lambda b=b: results.append(self.refresh(b))) for b in [broker] + others]
        for t in threads: t.start()
        for t in threads: t.join()
        self.assertEqual([a.status for a in results], [200] * 5)
        self.assertEqual(up.calls, 1)
        self.assertEqual({claims(a.body["access_token"])["exp"] for a in results}, {NOW + 864000})

    def test_permanent_failures(self):
        for kind, status, body in [("codex", 401, {}), ("codex", 400, {"error": {"code": "refresh_token_reused"}}),
                                   ("codex", 400, {"error": "refresh_token_invalidated"}),
                                   ("claude", 400, {"error": "invalid_grant"})]:
            up = FakeUpstream(kind, status=status)
            up.error_body = body
            doc = codex_doc(NOW + 60) if kind == "codex" else claude_doc((NOW + 60) * 1000)
            broker, path = self.broker(kind, doc, up)
            a = self.refresh(broker)
            self.assertEqual(a.event, "permanent")
            if kind == "codex":
                self.assertEqual((a.status, a.body["error"]["code"]), (401, "refresh_token_expired"))
            else:
                self.assertEqual((a.status, a.body["error"]), (400, "invalid_grant"))
            with open(path) as f:
                self.assertEqual(json.load(f), doc)  # host file untouched

    def test_transient_failures(self):
        for up in [FakeUpstream("codex", status=502), FakeUpstream("codex", status=400),
                   FakeUpstream("codex", fail=OSError("down"))]:
            broker, _ = self.broker("codex", codex_doc(NOW + 60), up)
            a = self.refresh(broker)
            self.assertEqual((a.status, a.event), (503, "transient"))

    def test_lock_timeout_is_transient(self):
        import fcntl
        broker, path = self.broker("codex", codex_doc(NOW + 60), FakeUpstream("codex"))
        broker.lock_timeout = 0.3
        fd = os.open(path, os.O_RDONLY)  # the lock is on the credential file itself
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            a = self.refresh(broker)
        finally:
            os.close(fd)
        self.assertEqual((a.status, a.reason), (503, "lock timeout"))

    def test_minted_id_tokens_and_placeholders_are_handed_to_egress_to_guard(self):
        codex, _ = self.broker("codex", codex_doc(NOW + 3600), FakeUpstream("codex"))
        a = self.refresh(codex)
        self.assertEqual(a.new_dummy, a.body["access_token"])
        self.assertEqual(a.new_guarded, (a.body["id_token"], "dummy-rt-123"))
        claude, _ = self.broker("claude", claude_doc((NOW + 3600) * 1000), FakeUpstream("claude"))
        self.assertEqual(self.refresh(claude).new_guarded, ("dummy-rt-123",))

    def test_lock_is_on_the_credential_file_and_follows_its_replacement(self):
        import fcntl
        _, path = self.broker("codex", codex_doc(NOW + 3600), FakeUpstream("codex"))
        holder = os.open(path, os.O_RDONLY)  # another process, mid-refresh
        fcntl.flock(holder, fcntl.LOCK_EX)
        acquired, excluded = [], []

        def waiter():
            with bb.host_lock(path, 5):
                acquired.append(True)
                other = os.open(path, os.O_RDONLY)  # a later opener of the path
                try:
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    excluded.append(False)
                except BlockingIOError:
                    excluded.append(True)
                finally:
                    os.close(other)
        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.3)
        self.assertEqual(acquired, [])  # waits for the holder
        bb.write_atomically(path, json.dumps(codex_doc(NOW + 7200)) + "\n")  # its write-back: a new inode
        os.close(holder)
        t.join(5)
        # The waiter got the old inode first, saw it replaced, and holds the new file's lock.
        self.assertEqual((acquired, excluded), ([True], [True]))
        self.assertEqual(sorted(os.listdir(self.dir.name)), ["auth.json"])

    def test_revoke_other_grants_unknown_tokens(self):
        up = FakeUpstream("codex")
        broker, _ = self.broker("codex", codex_doc(NOW + 3600), up)
        self.assertEqual(broker.answer("POST", "/oauth/revoke", b'{"token":"x"}').status, 200)
        self.assertEqual(self.refresh(broker, grant="authorization_code").status, 403)
        self.assertEqual(self.refresh(broker, rt="real-rt-0").status, 403)
        self.assertTrue(broker.handles("auth.openai.com", "/oauth/token"))
        self.assertTrue(broker.handles("AUTH.openai.com", "/oauth/revoke?x=1"))
        self.assertFalse(broker.handles("auth.openai.com", "/authorize"))
        self.assertFalse(broker.handles("chatgpt.com", "/oauth/token"))
        self.assertEqual(up.calls, 0)

    # -- write-back durability ------------------------------------------------

    def assert_untouched(self, path, before, mode):
        with open(path, "rb") as f:
            self.assertTrue(f.read() == before)  # compared as a boolean: no token in a failure
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), mode)
        self.assertEqual(sorted(os.listdir(self.dir.name)), ["auth.json"])

    def test_write_back_failures_keep_host_file_and_leave_no_temp(self):
        failures = [("fsync", mock.patch.object(bb.os, "fsync", side_effect=OSError(errno.EIO, "I/O error"))),
                    ("rename", mock.patch.object(bb.os, "rename", side_effect=OSError(errno.EXDEV, "cross-device"))),
                    ("fchmod", mock.patch.object(bb.os, "fchmod", side_effect=OSError(errno.EPERM, "not permitted")))]
        for what, patch in failures:
            with self.subTest(what):
                up = FakeUpstream("codex")
                broker, path = self.broker("codex", codex_doc(NOW + 60), up, mode=0o640)
                with open(path, "rb") as f:
                    before = f.read()
                with patch:
                    a = self.refresh(broker)
                self.assertEqual((a.status, a.event, up.calls), (503, "transient", 1))
                self.assertIn("cannot write the host credential file", a.reason)
                self.assertFalse("real-rt" in a.reason or "real-rt" in json.dumps(a.body))
                self.assertEqual(a.reason.count("real"), 0)
                self.assert_untouched(path, before, 0o640)

    def test_write_back_through_a_symlink_keeps_the_link(self):
        up = FakeUpstream("codex")
        broker, path = self.broker("codex", codex_doc(NOW + 60), up)
        target = os.path.join(self.dir.name, "dotfiles-auth.json")
        os.rename(path, target)
        os.symlink(target, path)
        a = self.refresh(broker)
        self.assertEqual((a.status, a.event, up.calls), (200, "refreshed", 1))
        self.assertTrue(os.path.islink(path))
        with open(target) as f:
            self.assertEqual(json.load(f)["tokens"]["refresh_token"], "real-rt-1")
        self.assertEqual(os.stat(target).st_mode & 0o777, 0o600)

    def test_write_back_file_size_limit_keeps_host_file(self):
        # write() fails part-way (EFBIG) as on a full disk.
        up = FakeUpstream("codex")
        broker, path = self.broker("codex", codex_doc(NOW + 60), up, mode=0o600)
        with open(path, "rb") as f:
            before = f.read()
        old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, hard))
        try:
            a = self.refresh(broker)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            signal.signal(signal.SIGXFSZ, old_handler)
        self.assertEqual((a.status, a.event), (503, "transient"))
        self.assert_untouched(path, before, 0o600)

    def test_write_back_killed_at_any_moment_leaves_old_or_new_file(self):
        path = os.path.join(self.dir.name, "auth.json")
        docs = [codex_doc(NOW + 60, n=0), codex_doc(NOW + 86400, n=1)]
        for d, pad in zip(docs, ("a", "b")):
            d["extra"]["pad"] = pad * (3 << 20)  # large, so kills land inside the write
        texts = [json.dumps(d, indent=2) + "\n" for d in docs]
        with open(path, "w") as f:
            f.write(texts[0])
        os.chmod(path, 0o640)
        # How long a whole writer takes, fork to exit, when nothing kills it: kills
        # then land before, inside and after the write.
        one_write = 0.0
        for text in (texts[1], texts[0]):
            start = time.monotonic()
            pid = os.fork()
            if pid == 0:
                try:
                    bb.write_atomically(path, text)
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            one_write = max(one_write, time.monotonic() - start)
        current, kills, mid_write, replaced = 0, 0, 0, 0
        rng = random.Random(os.getpid())
        for _ in range(30):
            target = 1 - current
            pid = os.fork()
            if pid == 0:
                try:
                    bb.write_atomically(path, texts[target])
                finally:
                    os._exit(0)
            time.sleep(one_write * rng.uniform(0.0, 1.4))
            os.kill(pid, signal.SIGKILL)
            kills += 1
            os.waitpid(pid, 0)
            with open(path) as f:
                now = f.read()
            self.assertTrue(now in (texts[current], texts[target]))  # whole, old or new
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)
            leftovers = [n for n in os.listdir(self.dir.name) if n != "auth.json"]
            self.assertTrue(all(n.startswith(".auth.json.") and n.endswith(".tmp") for n in leftovers))
            if now == texts[target]:
                replaced, current = replaced + 1, target
            elif leftovers:
                mid_write += 1
        print(f"\nbroker write-back: {kills} SIGKILLs, {mid_write} mid-write, {replaced} completed", file=sys.stderr)
        self.assertGreater(mid_write, 0)
        self.assertGreater(replaced, 0)
        # Leftovers hold real tokens: once stale, the next write-back removes them
        # (a fresh one may belong to a live writer and stays).
        for n in os.listdir(self.dir.name):
            if n != "auth.json":
                p = os.path.join(self.dir.name, n)
                os.utime(p, (time.time() - bb.STALE_TEMP_AGE_S - 60,) * 2)
        fresh = os.path.join(self.dir.name, ".auth.json.fresh123.tmp")
        with open(fresh, "w") as f:
            f.write("partial")
        bb.write_atomically(path, texts[0])
        self.assertEqual(sorted(os.listdir(self.dir.name)), [".auth.json.fresh123.tmp", "auth.json"])
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)

    def test_dummy_store_writes_atomically(self):
        path = os.path.join(self.dir.name, "state.json")
        store = bb.DummyStore(path)
        store.add("r", "dummy-a")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path, "rb") as f:
            before = f.read()
        with mock.patch.object(bb.os, "fsync", side_effect=OSError(errno.EIO, "I/O error")):
            with self.assertRaises(OSError):
                store.add("r", "dummy-b")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertEqual(os.listdir(self.dir.name), ["state.json"])

    def test_dummy_store_persists(self):
        path = os.path.join(self.dir.name, "state.json")
        store = bb.DummyStore(path)
        store.add("codex-chatgpt", "dummy-a")
        self.assertEqual(bb.DummyStore(path).get("codex-chatgpt"), ["dummy-a"])



class EnsureFreshCliTest(unittest.TestCase):
    """`bottle_broker.py ensure-fresh`, run in-process: bottle-cli create's refresh before minting."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def host_file(self, kind, doc):
        path = os.path.join(self.dir.name, "auth.json" if kind == "codex" else ".credentials.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        os.chmod(path, 0o600)
        return path

    def run_cli(self, kind, path, upstream, min_valid=600):
        import io
        out, err = io.StringIO(), io.StringIO()
        code = bb.main(["ensure-fresh", "--kind", kind, "--host-file", path, "--min-valid", str(min_valid),
                        "--proxy", "http://127.0.0.1:9", "--cafile", "/nonexistent/ca.pem"],
                       fetch=upstream, clock=lambda: NOW, out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    def assert_no_secret(self, *texts):
        for text in texts:
            self.assertFalse("real-rt" in text or "real-at" in text or "eyJ" in text)

    def test_fresh_token_no_upstream_call(self):
        up = FakeUpstream("codex")
        path = self.host_file("codex", codex_doc(NOW + 3600))
        with open(path, "rb") as f:
            before = f.read()
        code, out, err = self.run_cli("codex", path, up)
        self.assertEqual((code, out, err, up.calls), (0, "fresh\n", "", 0))
        with open(path, "rb") as f:
            self.assertTrue(f.read() == before)

    def test_min_valid_is_the_window(self):
        # 8 minutes left: outside egress's 5-minute window, inside create's 10.
        up = FakeUpstream("codex")
        path = self.host_file("codex", codex_doc(NOW + 480))
        self.assertEqual(self.run_cli("codex", path, up, min_valid=300)[0:2], (0, "fresh\n"))
        self.assertEqual(up.calls, 0)
        self.assertEqual(self.run_cli("codex", path, up, min_valid=600)[0:2], (0, "refreshed\n"))
        self.assertEqual(up.calls, 1)

    def test_near_expiry_refreshes_once_and_writes_back(self):
        for kind, doc in [("codex", codex_doc(NOW + 120)), ("claude", claude_doc((NOW + 120) * 1000))]:
            up = FakeUpstream(kind)
            path = self.host_file(kind, doc)
            code, out, err = self.run_cli(kind, path, up)
            self.assertEqual((code, out, err, up.calls), (0, "refreshed\n", "", 1))
            self.assertEqual(up.seen_rt, ["real-rt-0"])
            with open(path) as f:
                written = json.load(f)
            if kind == "codex":
                self.assertEqual(written["tokens"]["refresh_token"], "real-rt-1")
                self.assertEqual(claims(written["tokens"]["access_token"])["exp"], NOW + 864000)
            else:
                self.assertEqual(written["claudeAiOauth"]["refreshToken"], "real-rt-1")
                self.assertEqual(written["claudeAiOauth"]["expiresAt"], (NOW + 28800) * 1000)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            # A second run finds the rotated token fresh.
            self.assertEqual(self.run_cli(kind, path, up)[0:2], (0, "fresh\n"))
            self.assertEqual(up.calls, 1)

    def test_dead_host_session_says_sign_in_again(self):
        for kind, status, body, hint in [("codex", 401, {"error": {"code": "refresh_token_expired"}}, "codex login"),
                                         ("claude", 400, {"error": "invalid_grant"}, "/login")]:
            up = FakeUpstream(kind, status=status)
            up.error_body = body
            doc = codex_doc(NOW + 120) if kind == "codex" else claude_doc((NOW + 120) * 1000)
            path = self.host_file(kind, doc)
            code, out, err = self.run_cli(kind, path, up)
            self.assertEqual((code, out), (bb.EXIT_SIGN_IN_AGAIN, ""))
            self.assertIn("sign in again", err)
            self.assertIn(hint, err)
            self.assert_no_secret(out, err)
            with open(path) as f:
                self.assertTrue(json.load(f) == doc)  # host file untouched

    def test_transient_failures(self):
        for up in [FakeUpstream("codex", status=502), FakeUpstream("codex", fail=OSError("down"))]:
            path = self.host_file("codex", codex_doc(NOW + 120))
            code, out, err = self.run_cli("codex", path, up)
            self.assertEqual((code, out), (bb.EXIT_TRANSIENT, ""))
            self.assertIn("could not refresh", err)
            self.assert_no_secret(out, err)
        code, _, err = self.run_cli("codex", os.path.join(self.dir.name, "missing.json"), FakeUpstream("codex"))
        self.assertEqual(code, bb.EXIT_TRANSIENT)
        self.assertIn("cannot read host credential file", err)

    def test_usage_errors_exit_2(self):
        import contextlib, io
        for argv in [[], ["ensure-fresh", "--kind", "gemini", "--host-file", "x", "--min-valid", "1"],
                     ["ensure-fresh", "--kind", "codex", "--min-valid", "1"]]:
            with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as e:
                bb.main(argv, fetch=FakeUpstream("codex"))
            self.assertEqual(e.exception.code, 2)

    def test_runs_as_a_program(self):
        import subprocess
        path = self.host_file("codex", codex_doc(int(time.time()) + 3600))
        r = subprocess.run([sys.executable, bb.__file__, "ensure-fresh", "--kind", "codex", "--host-file", path,
                            "--min-valid", "600"], capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "fresh\n", ""))

if __name__ == "__main__":
    unittest.main()
