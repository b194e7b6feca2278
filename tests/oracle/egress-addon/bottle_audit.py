"""bottle egress audit log: one JSON line per request or connection.

Loaded by bottle_egress.py. Enabled when the egress confdir holds `audit.json`
(written by bottle at start, libbottle/src/egress/egress_audit.cpp):
    {"version": 1, "bottle": "NAME", "log": "audit.jsonl", "max_bytes": 16777216}
`log` is relative to the confdir. The log is rotated by size: when it would grow past
max_bytes / 2 it is renamed to `<log>.1` (replacing the older one), so the two files
together keep the last max_bytes at most. Files are 0600.

A record (keys sorted, compact):
    {"action": "injected", "bottle": "demo", "bytes_down": 512, "bytes_up": 0,
     "duration_ms": 12, "host": "chatgpt.com", "method": "GET", "path": "/models",
     "port": 443, "reason": "credential swapped", "route": "codex", "status": 200,
     "time": "2026-12-03T01:59:00.123Z"}
action: injected | blocked | broker | tunneled (forwarded unchanged) | refused
(egress or its parent proxy would not connect). The path has its query string and
fragment removed. No header value is ever recorded, and every known dummy and cached
real value is replaced by "[redacted]" in the fields that come from the request.
"""

import json
import os
import sys
import time

CONFIG_FILE = "audit.json"
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
REDACTED = "[redacted]"


def utc_time(timestamp: float) -> str:
    seconds = int(timestamp)
    millis = int((timestamp - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def bare_path(path: str) -> str:
    for mark in ("?", "#"):
        cut = path.find(mark)
        if cut >= 0:
            path = path[:cut]
    return path


class AuditLog:
    """Appends records to one file; a failure to write is reported once on stderr
    and never stops traffic (the record is lost, not the request)."""

    def __init__(self, path: str, bottle: str, max_bytes: int) -> None:
        self.path, self.bottle = path, bottle
        self.max_bytes = max(int(max_bytes), 4096)
        self._fd = None
        self._size = 0
        self._warned = False

    @classmethod
    def from_confdir(cls, confdir: str):
        """The log configured in `confdir`/audit.json, or None when there is none."""
        config = os.path.join(confdir, CONFIG_FILE)
        try:
            with open(config, encoding="utf-8") as f:
                doc = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise ValueError(f"bottle egress: cannot load audit config {config}: {e}") from None
        if not isinstance(doc, dict) or doc.get("version") != 1:
            raise ValueError(f"bottle egress: {config}: expected {{\"version\": 1, ...}}")
        log = str(doc.get("log", "audit.jsonl"))
        if "/" in log or log in ("", ".", ".."):
            raise ValueError(f"bottle egress: {config}: log must be a file name")
        max_bytes = doc.get("max_bytes", DEFAULT_MAX_BYTES)
        if not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError(f"bottle egress: {config}: max_bytes must be a positive integer")
        return cls(os.path.join(confdir, log), str(doc.get("bottle", "")), max_bytes)

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._size = os.fstat(self._fd).st_size

    def _rotate(self) -> None:
        os.close(self._fd)
        self._fd = None
        os.replace(self.path, self.path + ".1")
        self._open()

    def write(self, record: dict) -> None:
        record["bottle"] = self.bottle
        line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            if self._fd is None:
                self._open()
            if self._size and self._size + len(line) > self.max_bytes // 2:
                self._rotate()
            # One write per line with O_APPEND: a reader never sees half a record
            # unless the process dies mid-write.
            os.write(self._fd, line)
            self._size += len(line)
        except OSError as e:
            if self._fd is not None:
                try:
                    os.close(self._fd)
                except OSError:
                    pass
                self._fd = None
            if not self._warned:
                self._warned = True
                print(json.dumps({"event": "audit_unavailable", "reason": e.strerror or str(e)}), file=sys.stderr,
                      flush=True)


def record(flow, action: str, reason: str, route: str, scrub, status: int = 0, bytes_down: int = 0) -> dict:
    """The audit record of `flow` (an HTTPFlow); `scrub` redacts known secrets."""
    request = flow.request
    start = request.timestamp_start or time.time()
    end = time.time()
    if flow.response is not None and flow.response.timestamp_end:
        end = flow.response.timestamp_end
    return {
        "time": utc_time(start),
        "method": scrub(request.method),
        "host": scrub(request.host.lower()),
        "port": int(request.port),
        "path": "" if request.method == "CONNECT" else scrub(bare_path(request.path)),
        "status": int(status),
        "bytes_up": len(request.raw_content or b""),
        "bytes_down": int(bytes_down),
        "duration_ms": max(0, int(round((end - start) * 1000))),
        "route": route,
        "action": action,
        "reason": reason,
    }
