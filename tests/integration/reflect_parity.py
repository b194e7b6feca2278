"""The reverse swap as the egress addon does it (tests/oracle/egress-addon/bottle_reflect.py),
for the parity test against libbottle's egress/reflect_scrub.

stdin: a JSON list of cases [real, dummy, [chunk, ...]]. stdout: a JSON list, per case,
of {"needles": [[find, replace, encoding], ...], "body": scrubbed, "hits": N}.
argv[1]: the directory holding bottle_reflect.py.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import bottle_reflect  # noqa: E402

out = []
for real, dummy, chunks in json.load(sys.stdin):
    needles = bottle_reflect.needles(real, dummy)
    stream = bottle_reflect.StreamScrub(bottle_reflect.Scrubber(needles))
    body, hits = b"", 0
    for chunk in chunks + [""]:  # the empty chunk ends the body
        part, found = stream.feed(chunk.encode())
        body += part
        hits += len(found)
    out.append({"needles": [[n.find.decode(), n.replace.decode(), n.encoding] for n in needles],
                "body": body.decode(), "hits": hits})
json.dump(out, sys.stdout)
