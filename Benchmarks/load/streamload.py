#!/usr/bin/env python3
"""SIP over TLS and WebSocket load, and idle TLS connections, against a server that reads
Kamailio-syntax configurations (Swiftlet, or Kamailio with the same file).

    streamload.py run     --server CMD [--label L] --transport tls|ws|wss [--rate R]
                          [--duration D] [--connections C] [--sipp PATH] [--out F]
    streamload.py compare --a CMD --b CMD [--label-a A] [--label-b B] [--transports tls ws]
                          [--rate R] [--duration D] [--repeat N] [--sipp PATH] [--out F]
    streamload.py idle    --server CMD [--label L] [--count N] [--out F]

The server runs cfg/options-stream.cfg (OPTIONS answered 200 by sl over udp 5060, ws on
tcp 5060, tls and wss on 5061, with a certificate of a CA made for the run). CMD is a
template as in sipload.py: {cfg} the configuration, {rundir} the run's directory.

run/compare: one OPTIONS = one request. Over tls, SIPp with `-t l1` when --sipp names a
SIPp built with OpenSSL (Debian's is not); otherwise, and always over ws/wss, a python
client of C connections (threads) that sends at the fixed total rate, each request
waiting for its 200. The record: requests answered, the server's CPU (the schedstat time of
every thread of its process tree over the load plus 1 s; utime/stime too) and CPU microseconds per request. compare
interleaves A and B runs (A, B, A, B, ...) and prints the medians and the ratio B/A.

idle: opens N idle TLS connections (Tests/Fixtures/websocket/idle_connections.py) and
reports the server's memory (RSS and PSS of its process tree) before and with them, and
the difference per connection.

Python 3 standard library only; the helpers (process tree, CPU, memory, start/stop by
process id) come from sipload.py.
"""

import argparse
import base64
import datetime
import json
import os
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sipload  # noqa: E402

HOLDER = os.path.join(HERE, "..", "..", "Tests", "Fixtures", "websocket", "idle_connections.py")
UDP_PORT, WS_PORT, TLS_PORT = 5060, 5060, 5061


def note(*words):
    print("streamload:", *words, file=sys.stderr, flush=True)


def raise_open_files():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def make_pki(rundir):
    """A CA and a server certificate for 127.0.0.1 (EC P-256), and the tls.cfg."""
    def ossl(*args):
        subprocess.run(["openssl", *args], cwd=rundir, check=True, capture_output=True)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=streamload CA")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(rundir, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    with open(os.path.join(rundir, "tls.cfg"), "w") as f:
        f.write(f"[server:default]\nmethod = TLSv1.2+\ncertificate = {rundir}/server.pem\n"
                f"private_key = {rundir}/server.key\n\n[client:default]\nmethod = TLSv1.2+\n"
                "verify_certificate = no\n")


def write_config(rundir):
    with open(os.path.join(HERE, "cfg", "options-stream.cfg")) as f:
        text = f.read()
    path = os.path.join(rundir, "options-stream.cfg")
    with open(path, "w") as f:
        f.write(text.replace("{rundir}", rundir))
    return path


def port_open(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


class Server:
    """The server of one run, started in its own directory, stopped by process id."""

    def __init__(self, template, rundir):
        self.rundir = rundir
        make_pki(rundir)
        cfg = write_config(rundir)
        cmd = sipload.server_command(template, cfg, rundir)
        self.out = open(os.path.join(rundir, "server.out"), "w")
        self.err = open(os.path.join(rundir, "server.err"), "w")
        self.proc = sipload.start(cmd, rundir, self.out, self.err)
        if not (port_open(TLS_PORT) and port_open(WS_PORT)):
            self.stop()
            raise RuntimeError("server failed to start: " + sipload.tail(os.path.join(rundir, "server.err")))
        time.sleep(1.0)
        self.pids = sipload.process_tree(self.proc.pid)

    def tree(self):
        self.pids = sipload.process_tree(self.proc.pid) or self.pids
        return self.pids

    def stop(self):
        sipload.stop(self.proc, getattr(self, "pids", None) or [self.proc.pid])
        self.out.close()
        self.err.close()


# ---------------------------------------------------------------------------------------
# the python client

def options(n, conn, transport, local):
    return (f"OPTIONS sip:probe@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport.upper()} {local[0]}:{local[1]};branch=z9hG4bK-sl{conn}x{n}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:load@127.0.0.1>;tag=sl{conn}\r\nTo: <sip:probe@127.0.0.1>\r\n"
            f"Call-ID: sl{conn}x{n}@streamload\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


def ws_frame(payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Connection:
    def __init__(self, transport, ca):
        port = WS_PORT if transport == "ws" else TLS_PORT
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.local = s.getsockname()
        if transport in ("tls", "wss"):
            s = ssl.create_default_context(cafile=ca).wrap_socket(s, server_hostname="127.0.0.1")
        self.s, self.buf, self.ws = s, b"", transport in ("ws", "wss")
        if self.ws:
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                       "Sec-WebSocket-Protocol: sip\r\n\r\n").encode())
            head = self.until(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101"):
                raise OSError("handshake: " + head.split(b"\r\n")[0].decode())

    def more(self):
        data = self.s.recv(65536)
        if not data:
            raise OSError("closed by the server")
        self.buf += data

    def until(self, marker):
        while marker not in self.buf:
            self.more()
        head, self.buf = self.buf.split(marker, 1)
        return head

    def need(self, n):
        while len(self.buf) < n:
            self.more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def request(self, data):
        """Sends one request and returns the status line of its reply."""
        self.s.sendall(ws_frame(data) if self.ws else data)
        if self.ws:
            while True:
                b0, b1 = self.need(2)
                n = b1 & 0x7F
                if n == 126:
                    n = int.from_bytes(self.need(2), "big")
                elif n == 127:
                    n = int.from_bytes(self.need(8), "big")
                payload = self.need(n)
                if b0 & 0x0F in (1, 2):
                    return payload.split(b"\r\n", 1)[0]
        head = self.until(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                self.need(int(line.split(b":")[1]))
        return head.split(b"\r\n", 1)[0]


def python_load(transport, rate, duration, connections, ca):
    """Fixed total rate over `connections` threads; (sent, answered 200, errors)."""
    per = rate / connections
    total = int(rate * duration)
    counts = {"sent": 0, "ok": 0, "errors": 0}
    lock = threading.Lock()
    start = time.monotonic() + 0.5

    def worker(i, n):
        try:
            c = Connection(transport, ca)
        except (OSError, ssl.SSLError) as e:
            with lock:
                counts["errors"] += n
            note(f"connection {i}: {e}")
            return
        for k in range(n):
            due = start + k / per
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                status = c.request(options(k + 1, i, transport, c.local))
            except (OSError, ssl.SSLError):
                with lock:
                    counts["errors"] += n - k
                return
            with lock:
                counts["sent"] += 1
                counts["ok"] += status.startswith(b"SIP/2.0 200")

    ts = [threading.Thread(target=worker, args=(i, total // connections + (1 if i < total % connections else 0)))
          for i in range(connections)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return counts["sent"], counts["ok"], counts["errors"]


def sipp_has_tls(sipp):
    r = subprocess.run([sipp, "-t", "l1", "-m", "0", "127.0.0.1:1"], capture_output=True, text=True, timeout=10)
    return "compile SIPp with OpenSSL" not in (r.stdout + r.stderr)


def sipp_load(sipp, rundir, rate, duration):
    """SIPp -t l1 (one TLS connection); (sent, answered, errors) from its statistics."""
    stat = os.path.join(rundir, "sipp-stat.csv")
    n = int(rate * duration)
    cmd = [sipp, "-sf", os.path.join(HERE, "scenarios", "options-uac.xml"), "-t", "l1",
           "-tls_cert", os.path.join(rundir, "server.pem"), "-tls_key", os.path.join(rundir, "server.key"),
           "-p", "5080", "-r", str(rate), "-rp", "1000", "-m", str(n), "-l", str(max(50, 3 * rate)),
           "-timeout", f"{duration + 30}s", "-trace_stat", "-stf", stat, "-fd", "1",
           *sipload.sipp_common(rundir), f"127.0.0.1:{TLS_PORT}"]
    subprocess.run(cmd, cwd=rundir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=duration + 40)
    row = sipload.stats_row(stat)
    ok = sipload.count(row, "SuccessfulCall(C)") or 0
    failed = sipload.count(row, "FailedCall(C)") or 0
    return ok + failed, ok, failed


def one_run(opt, template, label, transport):
    rundir = tempfile.mkdtemp(prefix=f"streamload-{label}-{transport}-")
    rec = {"schema": "swiftlet-streamload/1", "mode": "run", "label": label, "transport": transport,
           "rate": opt.rate, "duration_s": opt.duration, "connections": opt.connections,
           "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "server_command": template}
    try:
        sipload.wait_until_quiet(opt.quiet_busy, opt.quiet_timeout)
        server = Server(template, rundir)
    except (RuntimeError, sipload.Refused) as e:
        rec["error"] = str(e)
        return rec
    try:
        use_sipp = transport == "tls" and opt.sipp and sipp_has_tls(opt.sipp)
        rec["client"] = "sipp -t l1" if use_sipp else "python"
        before = sipload.cpu_snapshot(server.tree())
        sched_before = sipload.sched_snapshot(server.tree())
        t0 = time.monotonic()
        if use_sipp:
            sent, ok, errors = sipp_load(opt.sipp, rundir, opt.rate, opt.duration)
        else:
            sent, ok, errors = python_load(transport, opt.rate, opt.duration, opt.connections,
                                           os.path.join(rundir, "ca.pem"))
        elapsed = time.monotonic() - t0
        time.sleep(1.0)
        user, system = sipload.cpu_used(before, sipload.cpu_snapshot(server.tree()))
        on_cpu = sipload.sched_used(sched_before, sipload.sched_snapshot(server.tree()))
        rss, pss, hwm, threads = sipload.memory_kb(server.tree())
        rec.update({"requests": sent, "answered_200": ok, "errors": errors,
                    "achieved_rate": round(ok / elapsed, 1) if elapsed else 0,
                    "server": {"cpu_user_s": round(user, 3), "cpu_system_s": round(system, 3),
                               "cpu_s": round(on_cpu, 4),
                               "cpu_us_per_request": round(on_cpu * 1e6 / ok, 1) if ok else None,
                               "rss_kb": rss, "pss_kb": pss, "threads": threads}})
    finally:
        server.stop()
    if not opt.keep and "error" not in rec:
        shutil.rmtree(rundir, ignore_errors=True)
    else:
        rec["rundir"] = rundir
    return rec


def emit(rec, out):
    line = json.dumps(rec, sort_keys=True)
    print(line, flush=True)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")


def cmd_run(opt):
    for _ in range(opt.repeat):
        emit(one_run(opt, opt.server, opt.label, opt.transport), opt.out)


def cmd_compare(opt):
    recs = []
    for transport in opt.transports:
        for _ in range(opt.repeat):
            for template, label in ((opt.a, opt.label_a), (opt.b, opt.label_b)):
                rec = one_run(opt, template, label, transport)
                emit(rec, opt.out)
                recs.append(rec)
    print(f"\n| transport | {opt.label_a} µs/req | {opt.label_b} µs/req | ratio | answered {opt.label_a} / "
          f"{opt.label_b} |")
    print("|---|---|---|---|---|")
    for transport in opt.transports:
        def med(label):
            v = [r["server"]["cpu_us_per_request"] for r in recs if r["label"] == label
                 and r["transport"] == transport and "error" not in r and r["server"]["cpu_us_per_request"]]
            return statistics.median(v) if v else None

        def answered(label):
            return sum(r.get("answered_200", 0) for r in recs if r["label"] == label and r["transport"] == transport)
        a, b = med(opt.label_a), med(opt.label_b)
        ratio = f"{b / a:.2f}" if a and b else "-"
        print(f"| {transport} | {a} | {b} | {ratio} | {answered(opt.label_a)} / {answered(opt.label_b)} |")


def cmd_idle(opt):
    limit = raise_open_files()
    if limit < opt.count + 200:
        raise SystemExit(f"open files limit {limit} is below {opt.count + 200}")
    rundir = tempfile.mkdtemp(prefix=f"streamload-idle-{opt.label}-")
    server = Server(opt.server, rundir)
    holder = None
    try:
        time.sleep(1.0)
        rss0, pss0, _, threads0 = sipload.memory_kb(server.tree())
        holder = subprocess.Popen([sys.executable, HOLDER, "tls", str(TLS_PORT), str(opt.count), "--ca",
                                   os.path.join(rundir, "ca.pem")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        held_line = holder.stdout.readline().strip()
        time.sleep(2.0)
        rss1, pss1, _, threads1 = sipload.memory_kb(server.tree())
        held = int(held_line.split()[1]) if held_line.startswith("HELD") else 0
        rec = {"schema": "swiftlet-streamload/1", "mode": "idle", "label": opt.label, "connections": held,
               "holder": held_line, "server_command": opt.server,
               "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "rss_kb_before": rss0, "rss_kb_with": rss1, "pss_kb_before": pss0, "pss_kb_with": pss1,
               "threads_before": threads0, "threads_with": threads1,
               "rss_bytes_per_connection": round((rss1 - rss0) * 1024 / held) if held else None,
               "pss_bytes_per_connection": round((pss1 - pss0) * 1024 / held) if held else None}
        holder.stdin.write("done\n")
        holder.stdin.flush()
        rec["holder_after"] = holder.stdout.readline().strip()
        emit(rec, opt.out)
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        server.stop()
        if not opt.keep:
            shutil.rmtree(rundir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    default_server = "kamailio -f {cfg} -DD -E -n 2 -m 1024 -Y {rundir}"
    for name in ("run", "compare", "idle"):
        s = sub.add_parser(name)
        s.add_argument("--out")
        s.add_argument("--keep", action="store_true")
        if name == "compare":
            s.add_argument("--a", default=default_server)
            s.add_argument("--b", required=True)
            s.add_argument("--label-a", default="kamailio")
            s.add_argument("--label-b", default="swiftlet")
            s.add_argument("--transports", nargs="+", default=["tls", "ws"], choices=["tls", "ws", "wss"])
        else:
            s.add_argument("--server", default=default_server)
            s.add_argument("--label", default="server")
        if name == "run":
            s.add_argument("--transport", default="tls", choices=["tls", "ws", "wss"])
        if name in ("run", "compare"):
            s.add_argument("--rate", type=int, default=1000)
            s.add_argument("--duration", type=float, default=20)
            s.add_argument("--connections", type=int, default=10)
            s.add_argument("--repeat", type=int, default=1)
            s.add_argument("--sipp", default=shutil.which("sipp"))
            s.add_argument("--quiet-busy", type=float, default=10.0)
            s.add_argument("--quiet-timeout", type=float, default=600.0)
        if name == "idle":
            s.add_argument("--count", type=int, default=10000)
    opt = p.parse_args()
    raise_open_files()
    {"run": cmd_run, "compare": cmd_compare, "idle": cmd_idle}[opt.mode](opt)


if __name__ == "__main__":
    main()
