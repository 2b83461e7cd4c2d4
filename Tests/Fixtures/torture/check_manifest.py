#!/usr/bin/env python3
"""Cross-check manifest.json against the RFC 4475 torture-test fixture files.

Re-reads every <name>.sip file, extracts the expected fields with a small,
deliberately simple SIP reader written independently of the manifest, and
prints every disagreement. Exits 0 only when everything agrees.

Usage:
    python3 check_manifest.py              # check fixtures against manifest.json
    python3 check_manifest.py --rfc rfc4475.txt
        # additionally decode Appendix A of the RFC text (base64 -> tar.gz)
        # and verify every fixture is byte-identical to its archive member

The reader only understands what these 49 messages need: CRLF line ends,
header folding (CRLF followed by SP/HTAB), compact header names, comma-
separated Via / Contact values, quoted strings with backslash escapes, and
angle-bracketed name-addr values. It is a test oracle, not a SIP parser.
"""
import base64
import hashlib
import io
import json
import os
import re
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))

COMPACT = {
    "i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
    "c": "content-type", "f": "from", "s": "subject", "k": "supported",
    "t": "to", "v": "via",
}

problems = []


def problem(name, msg):
    problems.append(f"{name}: {msg}")


# ---------------------------------------------------------------- reading

def split_message(data):
    """Return (start_line, [(name, value)], body_bytes_or_None)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        head, body = data, None
    else:
        head, body = data[:end], data[end + 4:]
    lines = head.split(b"\r\n")
    start = lines[0]
    unfolded = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and unfolded:
            unfolded[-1] += b" " + line.lstrip(b" \t")
        else:
            unfolded.append(line)
    headers = []
    for line in unfolded:
        if b":" not in line:
            headers.append((None, line))
            continue
        name, value = line.split(b":", 1)
        name = name.decode("latin-1").strip(" \t").lower()
        name = COMPACT.get(name, name)
        headers.append((name, value.strip(b" \t")))
    return start, headers, body


def values(headers, name):
    return [v for n, v in headers if n == name]


def split_outside(s, sep):
    """Split string s on sep, ignoring separators inside quotes or <...>."""
    parts, cur, inq, depth, i = [], [], False, 0, 0
    while i < len(s):
        ch = s[i]
        if inq:
            cur.append(ch)
            if ch == "\\" and i + 1 < len(s):
                cur.append(s[i + 1])
                i += 1
            elif ch == '"':
                inq = False
        elif ch == '"':
            inq = True
            cur.append(ch)
        elif ch == "<":
            depth += 1
            cur.append(ch)
        elif ch == ">":
            depth -= 1
            cur.append(ch)
        elif ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def params_of(parts):
    out = {}
    for p in parts:
        p = p.strip(" \t")
        if not p:
            continue
        if "=" in p:
            k, v = p.split("=", 1)
            out[k.strip(" \t").lower()] = v.strip(" \t")
        else:
            out[p.lower()] = None
    return out


def tag_of(value):
    """Header 'tag' parameter of a From/To value, or None."""
    s = value.decode("utf-8", "surrogateescape")
    # Find '<' outside a quoted string: then params follow the matching '>'.
    inq, i, lt = False, 0, -1
    while i < len(s):
        ch = s[i]
        if inq:
            if ch == "\\":
                i += 1
            elif ch == '"':
                inq = False
        elif ch == '"':
            inq = True
        elif ch == "<":
            lt = i
            break
        i += 1
    if lt >= 0:
        gt = s.index(">", lt)
        rest = s[gt + 1:]
        parts = split_outside(rest, ";")[1:]
    else:
        parts = split_outside(s, ";")[1:]
    return params_of(parts).get("tag")


VIA_RE = re.compile(
    r"^\s*([^/\s]+)\s*/\s*([^/\s]+)\s*/\s*([^\s;]+)\s+([^;\s]+)\s*(;.*)?$", re.S)


def parse_via(v):
    m = VIA_RE.match(v)
    if not m:
        return None
    proto, ver, transport, sent_by, rest = m.groups()
    if ":" in sent_by:
        host, port = sent_by.rsplit(":", 1)
        port = int(port)
    else:
        host, port = sent_by, None
    params = params_of(split_outside(rest or "", ";"))
    return {"protocol": f"{proto}/{ver}", "transport": transport, "host": host,
            "port": port, "branch": params.get("branch")}


def extract(data):
    start, headers, body = split_message(data)
    got = {}
    if start.startswith(b"SIP/"):
        kind = "response"
        ver, code, reason = start.split(b" ", 2)
        got["status_code"] = int(code)
        got["reason_phrase"] = reason.decode("utf-8")
        method = None
    else:
        kind = "request"
        method_b, ruri, ver = start.split(b" ", 2)
        method = method_b.decode("latin-1")
        got["method"] = method
        got["request_uri"] = ruri.decode("latin-1")
    cid = values(headers, "call-id")
    got["call_id"] = cid[0].decode("latin-1") if cid else None
    cseq = values(headers, "cseq")
    if cseq:
        n, m = cseq[0].decode("latin-1").split()
        got["cseq"] = {"number": int(n), "method": m}
    vias = []
    for v in values(headers, "via"):
        vias += [x for x in split_outside(v.decode("latin-1"), ",") if x.strip()]
    got["via_count"] = len(vias)
    parsed = [parse_via(v) for v in vias]
    if parsed and parsed[0]:
        top = parsed[0]
        got["top_via"] = {k: top[k] for k in ("transport", "host", "port", "branch")}
    got["via_transports"] = [p["transport"] if p else None for p in parsed]
    fr = values(headers, "from")
    to = values(headers, "to")
    got["from_tag"] = tag_of(fr[0]) if fr else None
    got["to_tag"] = tag_of(to[0]) if to else None
    cl = values(headers, "content-length")
    got["content_length"] = int(cl[0]) if cl else None
    mf = values(headers, "max-forwards")
    got["max_forwards"] = int(mf[0]) if mf else None
    contacts = []
    for v in values(headers, "contact"):
        contacts += [x for x in split_outside(v.decode("utf-8", "surrogateescape"), ",") if x.strip()]
    got["contact_count"] = len(contacts)
    if body is not None:
        avail = len(body)
        blen = got["content_length"] if got["content_length"] is not None else avail
        got["body_length"] = blen
        got["trailing_octets"] = avail - blen
    got["_kind"] = kind
    got["_method"] = method
    return got


# ---------------------------------------------------------------- checking

def check_entry(e):
    name = e["name"]
    path = os.path.join(HERE, e["file"])
    if e["file"] != name + ".sip":
        problem(name, f"file {e['file']!r} is not {name}.sip")
    if not os.path.exists(path):
        problem(name, "fixture file missing")
        return
    data = open(path, "rb").read()
    if len(data) != e["size"]:
        problem(name, f"size {len(data)} != manifest {e['size']}")
    if hashlib.sha256(data).hexdigest() != e["sha256"]:
        problem(name, "sha256 differs from manifest")
    if not re.fullmatch(r"3\.(1\.1\.\d+|1\.2\.\d+|2\.\d+|3\.\d+|4\.\d+)", e["section"]):
        problem(name, f"odd section {e['section']!r}")
    # Start line: kind and method, for valid and invalid messages alike.
    start = data.split(b"\r\n", 1)[0]
    kind = "response" if start.startswith(b"SIP/") else "request"
    if kind != e["kind"]:
        problem(name, f"kind {kind} != manifest {e['kind']}")
    method = None if kind == "response" else start.split(b" ", 1)[0].decode("latin-1")
    if method != e["method"]:
        problem(name, f"method {method!r} != manifest {e['method']!r}")
    if not e["summary"]:
        problem(name, "empty summary")

    if not e["valid"]:
        if set(e["expect"]) != {"reason"} or not e["expect"]["reason"]:
            problem(name, "invalid message must have expect == {reason}")
        ev = e.get("evidence")
        if ev and ev.encode("utf-8") not in data:
            problem(name, f"evidence {ev!r} not found in message bytes")
        if e.get("liberal_accept_ok") not in (True, False):
            problem(name, "liberal_accept_ok must be true/false for invalid messages")
        return

    got = extract(data)
    exp = e["expect"]
    if got["_method"] is not None and exp.get("method") != got["_method"]:
        problem(name, f"expect.method {exp.get('method')!r} != start line {got['_method']!r}")
    keys = ["call_id", "cseq", "via_count", "top_via", "from_tag", "to_tag",
            "content_length", "max_forwards", "body_length"]
    keys += ["method", "request_uri"] if kind == "request" else ["status_code", "reason_phrase"]
    for k in ("trailing_octets", "contact_count", "via_transports"):
        if k in exp:
            keys.append(k)
    for k in keys:
        if k not in exp:
            problem(name, f"expect.{k} missing")
            continue
        if exp[k] != got.get(k):
            problem(name, f"expect.{k} = {exp[k]!r} but message gives {got.get(k)!r}")
    if "trailing_octets" not in exp and got.get("trailing_octets", 0) != 0:
        problem(name, f"{got['trailing_octets']} unexpected octets after the body")
    if exp.get("cseq", {}).get("method") not in (None, got["_method"]) and kind == "request":
        problem(name, "CSeq method differs from request method in a valid request")


def check_rfc(rfc_path, names):
    text = open(rfc_path, "rb").read().decode("ascii")
    inside, b64 = False, []
    for line in text.splitlines():
        if not inside:
            if "-- BEGIN MESSAGE ARCHIVE --" in line and "-- END MESSAGE ARCHIVE --" not in line:
                inside = True
            continue
        if "-- END MESSAGE ARCHIVE --" in line:
            inside = False
            continue
        if re.fullmatch(r"\s*\S+\s*", line):
            b64.append(line.strip())
    raw = base64.b64decode("".join(b64))
    members = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        for m in tar.getmembers():
            if m.isfile():
                members[os.path.basename(m.name)] = tar.extractfile(m).read()
    print(f"RFC archive: {len(members)} members")
    for name in names:
        arch = members.get(name + ".dat")
        if arch is None:
            problem(name, "not in RFC archive")
            continue
        if open(os.path.join(HERE, name + ".sip"), "rb").read() != arch:
            problem(name, "fixture bytes differ from RFC archive member")
    extra = sorted(set(members) - {n + ".dat" for n in names})
    if extra:
        print("archive members without a fixture (not described in RFC section 3):", ", ".join(extra))


def main(argv):
    manifest = json.load(open(os.path.join(HERE, "manifest.json"), encoding="utf-8"))
    names = [e["name"] for e in manifest]
    if len(set(names)) != len(names):
        problems.append("duplicate names in manifest")
    files = sorted(f[:-4] for f in os.listdir(HERE) if f.endswith(".sip"))
    for f in sorted(set(files) - set(names)):
        problems.append(f"{f}.sip has no manifest entry")
    for e in manifest:
        check_entry(e)
    if len(argv) >= 2 and argv[0] == "--rfc":
        check_rfc(argv[1], names)
    nvalid = sum(1 for e in manifest if e["valid"])
    print(f"{len(manifest)} messages ({nvalid} valid, {len(manifest) - nvalid} invalid), {len(files)} .sip files")
    for p in problems:
        print("MISMATCH", p)
    if problems:
        print(f"{len(problems)} mismatch(es)")
        return 1
    print("OK: manifest agrees with every fixture")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
