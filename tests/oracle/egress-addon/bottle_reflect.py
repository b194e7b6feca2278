"""bottle egress: the reverse swap (loaded by bottle_egress.py).

When egress injects a real value into a request, the upstream's answer may quote it
back (echo endpoints, debug pages, error bodies that repeat request headers). Egress
is the only component that sees that answer in plaintext, so before the bottle sees
it every occurrence of the real value is replaced by the dummy the bottle sent.

What is looked for (`needles`): the real value's bytes
  * as-is;
  * JSON-escaped: every form json.dumps produces (ASCII-only or not), with "/" also
    as "\\/", "<" ">" "&" also as "\\u003c"... (Go's HTML-safe encoder), and \\uXXXX
    in lower- and upper-case hex;
  * URL-encoded: quote (with and without "/" kept) and quote_plus, upper- and
    lower-case hex;
  * base64, standard and URL-safe alphabet, at each of the 3 byte alignments the
    value can have inside the encoded data. Only the value's whole 3-byte groups at
    that alignment are matched (the 4-character groups that encode nothing but value
    bytes), so up to 2 bytes at each end of the value stay as they were and the
    decoded text reads <those bytes><dummy's groups at the same alignment><those
    bytes>. The groups are replaced by whole groups, so the rest of the encoding is
    unchanged. A value too short to leave 8 characters of groups is not looked for in
    base64 (it would match ordinary data).
Each needle is replaced by the same transform of the dummy, so a JSON-escaped real
value becomes the JSON-escaped dummy, and so on.

Bodies are scanned as they stream (`StreamScrub`): nothing is held back except a
tail that could still be the start of a needle, so it is at most one byte shorter
than the longest needle, and an SSE event that ends with a newline passes at once.
"""

import base64
import json
import re
import urllib.parse
import zlib
from dataclasses import dataclass

MIN_NEEDLE = 8  # a shorter needle would match (and rewrite) ordinary data


@dataclass(frozen=True)
class Needle:
    find: bytes
    replace: bytes
    encoding: str  # for the log: raw / json / url / base64 / base64url


def _json_forms(value: str) -> list[str]:
    forms = []
    for ensure_ascii in (True, False):
        escaped = json.dumps(value, ensure_ascii=ensure_ascii)[1:-1]
        for slash in (False, True):
            s = escaped.replace("/", "\\/") if slash else escaped
            for html in (False, True):
                h = s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") if html else s
                forms += [h, re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), h)]
    return forms


def _url_forms(value: str) -> list[str]:
    forms = [urllib.parse.quote(value, safe=""), urllib.parse.quote(value, safe="/"),
             urllib.parse.quote_plus(value, safe="")]
    return forms + [re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in forms]


def _base64_groups(value: bytes, offset: int, urlsafe: bool) -> bytes:
    """The 4-character groups encoding only `value`'s bytes when it starts `offset`
    bytes (mod 3) into the encoded data."""
    skip = (3 - offset) % 3
    whole = (len(value) - skip) // 3 * 3
    if whole <= 0:
        return b""
    chunk = value[skip:skip + whole]
    return base64.urlsafe_b64encode(chunk) if urlsafe else base64.b64encode(chunk)


def needles(real: str, dummy: str) -> list[Needle]:
    """Every form of `real` to replace, paired with the same form of `dummy`;
    distinct, longest first."""
    pairs = [("raw", real, dummy)]
    pairs += [("json", r, d) for r, d in zip(_json_forms(real), _json_forms(dummy))]
    pairs += [("url", r, d) for r, d in zip(_url_forms(real), _url_forms(dummy))]
    out = [Needle(r.encode(), d.encode(), enc) for enc, r, d in pairs]
    rb, db = real.encode(), dummy.encode()
    for urlsafe in (False, True):
        for offset in range(3):
            find = _base64_groups(rb, offset, urlsafe)
            replace = _base64_groups(db, offset, urlsafe)
            if find and replace:
                out.append(Needle(find, replace, "base64url" if urlsafe else "base64"))
    seen, result = set(), []
    for n in sorted(out, key=lambda n: len(n.find), reverse=True):
        if n.find not in seen and len(n.find) >= MIN_NEEDLE and n.find != n.replace:
            seen.add(n.find)
            result.append(n)
    return result


class Scrubber:
    """Replaces needles in whole byte strings; the per-flow StreamScrub uses it."""

    def __init__(self, all_needles: list[Needle]):
        self.needles = sorted(all_needles, key=lambda n: len(n.find), reverse=True)
        self.by_find = {n.find: n for n in self.needles}
        # Alternatives longest first: at one position the longest needle wins.
        self.pattern = re.compile(b"|".join(re.escape(n.find) for n in self.needles)) if self.needles else None
        self.max_len = max((len(n.find) for n in self.needles), default=0)

    def any_in(self, data: bytes) -> bool:
        # bytes.find is much faster than the regex; hits are rare.
        return any(n.find in data for n in self.needles)

    def replace(self, data: bytes, end: int | None = None) -> tuple[bytes, int, list[Needle]]:
        """Replace the needles that start before `end` (default: all). Returns the
        rewritten bytes up to where scanning stopped, that position, and the hits."""
        end = len(data) if end is None else end
        if self.pattern is None or not self.any_in(data):
            return data[:end], end, []
        out, hits, pos = [], [], 0
        for m in self.pattern.finditer(data):
            if m.start() >= end:
                break
            needle = self.by_find[m.group(0)]
            out += [data[pos:m.start()], needle.replace]
            hits.append(needle)
            pos = m.end()
        stop = max(pos, end)
        out.append(data[pos:stop])
        return b"".join(out), stop, hits

    def scrub(self, data: bytes) -> tuple[bytes, list[Needle]]:
        out, _, hits = self.replace(data)
        return out, hits

    def partial_start(self, data: bytes) -> int:
        """The first position whose tail is a proper prefix of some needle (a needle
        that may go on in the next chunk), or len(data)."""
        size, best = len(data), len(data)
        for n in self.needles:
            start = max(0, size - len(n.find) + 1)
            # Candidates found by their first 4 bytes in C; only those are compared.
            head = n.find[:4]
            j = data.find(head, start)
            while j != -1 and j < best:
                if n.find.startswith(data[j:]):
                    best = j
                    break
                j = data.find(head, j + 1)
            for j in range(max(start, size - len(head) + 1), best):  # tails shorter than `head`
                if n.find.startswith(data[j:]):
                    best = j
                    break
        return best


class StreamScrub:
    """A body scanned chunk by chunk with a carry-over tail (see module doc)."""

    def __init__(self, scrubber: Scrubber):
        self.scrubber = scrubber
        self.carry = b""

    def feed(self, data: bytes) -> tuple[bytes, list[Needle]]:
        buf = self.carry + data
        if not data:  # end of the body: nothing more can follow the tail
            self.carry = b""
            return self.scrubber.scrub(buf)
        # A match starting before `hold` is final: every needle that could start
        # there fits in `buf`, so more data cannot change the choice.
        hold = self.scrubber.partial_start(buf)
        out, stop, hits = self.scrubber.replace(buf, hold)
        self.carry = buf[stop:]
        return out, hits


class DecodeError(Exception):
    """A compressed body could not be decoded; the rest of it is dropped."""


class Decoder:
    """Streaming decoder of one Content-Encoding egress can scan: gzip or deflate."""

    SUPPORTED = ("gzip", "x-gzip", "deflate")

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.inner = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding in ("gzip", "x-gzip") else None
        self.pending = b""

    def _deflate_start(self, data: bytes):
        # "deflate" is zlib-wrapped per the RFC, raw deflate in practice for some servers.
        wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0
        self.inner = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        try:
            if self.inner is None:
                self.pending += data
                if len(self.pending) < 2 and data:
                    return b""
                self._deflate_start(self.pending)
                data, self.pending = self.pending, b""
            return self.inner.decompress(data) if data else self.inner.flush()
        except zlib.error:
            raise DecodeError(f"{self.encoding} body cannot be decoded") from None
