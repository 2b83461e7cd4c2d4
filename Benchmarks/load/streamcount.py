#!/usr/bin/env python3
"""What one SIP request over TLS or WebSocket costs a server, independent of how busy the
machine is: user-space instructions (callgrind), system calls and context switches (perf
stat tracepoints), or system calls and the bytes they moved (strace) per request.
(bytes_read/bytes_written come from /proc/PID/io: write(2) counts there, sendto(2) does not.)

    streamcount.py instructions|syscalls|strace --server CMD [--label L] --transport tls|ws|wss
                   [--requests N] [--warmup W] [--connections C] [--rate R] [--base PORT]

The server runs cfg/options-stream.cfg (as streamload.py: OPTIONS answered 200 by sl) with
its ports moved to --base (udp and tcp, ws) and --base+1 (tls, wss), and open_files_limit
lowered to 4096 (valgrind refuses a limit at the hard one). CMD is a template as in
sipload.py ({cfg}, {rundir}). The client (streamload.py's python client) opens C connections,
sends W requests on each uncounted (handshakes, first-use work), then N requests in turn on
the connections, each waiting for its 200, at most R per second; only those N are counted.

instructions: CMD runs under valgrind --tool=callgrind (a Swiftlet binary is first copied
without debug information: valgrind 3.19 cannot read Swift's DWARF 5) twice, with N/5 and
with N + N/5 counted requests; the difference of the totals of every process of the tree
(valgrind cannot reach a forked child, e.g. Kamailio's, to switch instrumentation on and off)
over the N extra requests is printed, and the profiles are kept. At a fixed --rate the longer
run also idles longer: the timers' share of that time counts, as it does in a timed run.
syscalls: perf stat on every process (all threads) of the tree for the counted requests.
strace: strace -f on them (futex left out): the calls and bytes per request.
syscalls and strace also count what happens while idle for as long (the timers' share),
printed separately, not subtracted.
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sipload  # noqa: E402
import streamload  # noqa: E402

SYSCALLS = ["read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg",
            "epoll_wait", "epoll_pwait", "epoll_ctl", "futex", "poll", "clock_gettime", "timerfd_settime",
            "mprotect", "madvise", "mmap", "munmap", "brk", "getpid", "gettid", "eventfd2", "ioctl"]


def note(*words):
    print("streamcount:", *words, file=sys.stderr, flush=True)


def write_config(rundir, base):
    with open(os.path.join(HERE, "cfg", "options-stream.cfg")) as f:
        text = f.read()
    text = text.replace("{rundir}", rundir).replace("open_files_limit=20000", "open_files_limit=4096")
    text = text.replace("127.0.0.1:5061", f"127.0.0.1:{base + 1}").replace("127.0.0.1:5060", f"127.0.0.1:{base}")
    path = os.path.join(rundir, "options-stream.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def stripped_copy(cmd, rundir):
    """For a Swiftlet command: the binary and -L modules copied without debug information."""
    args = shlex.split(cmd)
    if not args[0].endswith("swiftlet"):
        return cmd
    src = os.path.dirname(args[0])
    dst = os.path.join(rundir, "bin")
    os.mkdir(dst)
    for name in os.listdir(src):
        if name == "swiftlet" or name.endswith(".so"):
            shutil.copy2(os.path.join(src, name), dst)
            subprocess.run(["strip", "--strip-debug", os.path.join(dst, name)], check=True)
    args[0] = os.path.join(dst, "swiftlet")
    if "-L" in args:
        args[args.index("-L") + 1] = dst
    return shlex.join(args)


def io_bytes(pids):
    """(bytes read, bytes written) by read/write-family calls over pids (/proc/PID/io)."""
    r = w = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/io") as f:
                for line in f:
                    k, v = line.split(":")
                    if k == "rchar":
                        r += int(v)
                    elif k == "wchar":
                        w += int(v)
        except OSError:
            pass
    return r, w


def run_requests(conns, transport, n, rate, start_at=0):
    gap = 1.0 / rate if rate else 0
    t0 = time.monotonic()
    ok = 0
    for k in range(n):
        if gap:
            delay = t0 + k * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        i = k % len(conns)
        c = conns[i]
        status = c.request(streamload.options(start_at + k + 1, i, transport, c.local))
        ok += status.startswith(b"SIP/2.0 200")
    return ok, time.monotonic() - t0


class Counter:
    """Counts over a phase: callgrind instrumentation or perf stat on the server's tree."""

    def __init__(self, mode, pids, rundir, name):
        self.mode, self.pids, self.rundir, self.name = mode, pids, rundir, name
        self.perf = None

    def start(self):
        self.io = io_bytes(self.pids)
        if self.mode == "instructions":
            pass
        elif self.mode == "strace":
            self.log = os.path.join(self.rundir, f"strace-{self.name}.txt")
            args = ["strace", "-f", "-qq", "-o", self.log, "-e", "trace=!futex", "-e", "signal=none"]
            for pid in self.pids:
                args += ["-p", str(pid)]
            self.perf = subprocess.Popen(args, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        else:
            events = ["raw_syscalls:sys_enter", "context-switches"] + [f"syscalls:sys_enter_{s}" for s in SYSCALLS]
            self.perf_out = os.path.join(self.rundir, f"perf-{self.name}.txt")
            self.perf = subprocess.Popen(["perf", "stat", "-x,", "-e", ",".join(events), "-p",
                                          ",".join(map(str, self.pids)), "-o", self.perf_out])
            time.sleep(0.5)

    def stop(self):
        r, w = io_bytes(self.pids)
        self.read, self.written = r - self.io[0], w - self.io[1]
        result = {}
        if self.mode == "instructions":
            pass
        elif self.mode == "strace":
            time.sleep(0.3)
            self.perf.send_signal(2)
            self.perf.wait()
            calls, sizes = {}, {}
            with open(self.log) as f:
                for line in f:
                    m = (re.match(r"\s*\d+\s+(\w+)\(.*\)\s+=\s+(-?\d+)", line)
                         or re.match(r"\s*\d+\s+<\.\.\. (\w+) resumed>.*\s+=\s+(-?\d+)", line))
                    if m:
                        name, ret = m.group(1), int(m.group(2))
                        calls[name] = calls.get(name, 0) + 1
                        if name in ("read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg",
                                    "sendmsg") and ret > 0:
                            sizes[name] = sizes.get(name, 0) + ret
            result.update(calls)
            result.update({f"{k}_bytes": v for k, v in sizes.items()})
        else:
            self.perf.send_signal(2)
            self.perf.wait()
            with open(self.perf_out) as f:
                for line in f:
                    p = line.strip().split(",")
                    if len(p) > 2 and p[0].replace(".", "").isdigit():
                        result[p[2].replace("syscalls:sys_enter_", "")] = float(p[0])
        result["bytes_read"] = self.read
        result["bytes_written"] = self.written
        return result


def run_server(opt, requests, tag):
    """One server run: connections, warm-up, `requests` counted requests; (result, ok, elapsed,
    idle result, rundir)."""
    rundir = tempfile.mkdtemp(prefix=f"streamcount-{opt.label}-{opt.transport}-{tag}-")
    streamload.make_pki(rundir)
    cfg = write_config(rundir, opt.base)
    template = opt.server
    if opt.mode == "instructions":
        template = stripped_copy(template, rundir)
        template = f"valgrind --tool=callgrind --callgrind-out-file={rundir}/callgrind.%p " + template
    cmd = sipload.server_command(template, cfg, rundir)
    out = open(os.path.join(rundir, "server.out"), "w")
    err = open(os.path.join(rundir, "server.err"), "w")
    proc = sipload.start(cmd, rundir, out, err)
    pids = [proc.pid]
    idle = None
    try:
        if not (streamload.port_open(opt.base + 1, 180) and streamload.port_open(opt.base, 60)):
            raise SystemExit("server failed to start: " + sipload.tail(os.path.join(rundir, "server.err")))
        time.sleep(2.0)
        ca = os.path.join(rundir, "ca.pem")
        conns = [streamload.Connection(opt.transport, ca) for _ in range(opt.connections)]
        run_requests(conns, opt.transport, opt.warmup * len(conns), 0, start_at=0)
        time.sleep(1.0)
        pids = sipload.process_tree(proc.pid)
        counter = Counter(opt.mode, pids, rundir, "requests")
        counter.start()
        ok, elapsed = run_requests(conns, opt.transport, requests, opt.rate, start_at=opt.warmup * len(conns))
        res = counter.stop()
        if not opt.no_idle and opt.mode != "instructions":
            c2 = Counter(opt.mode, pids, rundir, "idle")
            c2.start()
            time.sleep(elapsed)
            idle = c2.stop()
        time.sleep(1.0)
        for c in conns:
            try:
                c.s.close()
            except OSError:
                pass
        time.sleep(1.0)
    finally:
        proc.send_signal(15)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            sipload.stop(proc, pids)
        out.close()
        err.close()
    if opt.mode == "instructions":
        res["Ir"] = 0
        for f in os.listdir(rundir):
            if f.startswith("callgrind."):
                with open(os.path.join(rundir, f)) as fh:
                    for line in fh:
                        if line.startswith("totals:"):
                            res["Ir"] += int(line.split()[1])
    return res, ok, elapsed, idle, rundir, len(pids)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["instructions", "syscalls", "strace"])
    p.add_argument("--server", required=True)
    p.add_argument("--label", default="server")
    p.add_argument("--transport", default="tls", choices=["tls", "ws", "wss"])
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--rate", type=float, default=0)
    p.add_argument("--base", type=int, default=27060)
    p.add_argument("--no-idle", action="store_true")
    opt = p.parse_args()
    streamload.WS_PORT = opt.base
    streamload.TLS_PORT = opt.base + 1

    if opt.mode == "instructions":
        # Whole runs (valgrind cannot reach a forked child to switch instrumentation on):
        # a short one and a long one; the difference is the cost of the extra requests.
        short = max(opt.requests // 5, 1)
        a, ok_a, _, _, dir_a, _ = run_server(opt, short, "short")
        b, ok_b, elapsed, _, dir_b, n = run_server(opt, opt.requests + short, "long")
        if ok_a != short or ok_b != opt.requests + short:
            note(f"answered {ok_a}/{short} and {ok_b}/{opt.requests + short}")
        per = (b["Ir"] - a["Ir"]) / (ok_b - ok_a)
        print(f"{opt.label} {opt.transport} instructions: {per:.0f} per request ({ok_b - ok_a} requests "
              f"between runs of {ok_a} and {ok_b} at {opt.rate or 'full'}/s; processes {n}; "
              f"profiles {dir_b}, {dir_a})")
        return
    res, ok, elapsed, idle, rundir, n = run_server(opt, opt.requests, "run")
    per = {k: round(v / ok, 2) for k, v in res.items()} if ok else {}
    print(f"{opt.label} {opt.transport} {opt.mode}: {ok}/{opt.requests} answered 200 in {elapsed:.1f} s; "
          f"processes {n}; files {rundir}")
    print("  per request: " + ", ".join(f"{k}={v}" for k, v in sorted(per.items()) if v))
    if idle is not None:
        print(f"  idle for {elapsed:.1f} s, per request of the run: "
              + ", ".join(f"{k}={round(v / ok, 2)}" for k, v in sorted(idle.items()) if v))


if __name__ == "__main__":
    main()
