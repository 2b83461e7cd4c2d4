#!/usr/bin/env python3
"""Swiftlet's SIP load driver: SIPp against a Kamailio-syntax server, on loopback.

    sipload.py run      --server CMD [--label L] [--scenario S] [--rate R] [--duration D] [--out F]
    sipload.py maxrate  --server CMD [--label L] [--scenario S] [--steps 500,1000,...] [--out F]
    sipload.py compare  --a CMD --b CMD [--label-a A] [--label-b B] [--scenarios S ...]
                        [--rate R] [--duration D] [--repeat N] [--maxrate] [--out F]
    sipload.py table    FILE [--label-a A] [--label-b B]

CMD is a server command template: {cfg} becomes the absolute path of the scenario's
configuration, {rundir} a fresh directory per run (also the server's working directory).
It is split like a shell line and started without a shell. The server must stay in the
foreground, listen on udp:127.0.0.1:5060 as the configuration says, and stop on SIGTERM.

Every run: wait until the machine is quiet, refuse if 5060/5070/5071/5080 are taken, start the
server, the SIPp UAS (127.0.0.1:5070; dispatcher: a second one on 5071) when the scenario has
one, then the SIPp UAC
(127.0.0.1:5080) at a fixed rate for a fixed number of calls; measure; stop everything it
started, by process id. One JSON object per run goes to stdout (run, maxrate) and is appended
to --out. Only the Python 3 standard library is used. Fields: README.md next to this file.
"""

import argparse
import ctypes
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = "swiftlet-load/1"

LOOPBACK = "127.0.0.1"
SERVER_PORT = 5060
UAS_PORT = 5070
UAC_PORT = 5080
PORTS = (SERVER_PORT, UAS_PORT, UAS_PORT + 1, UAC_PORT)

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# name -> (server configuration, UAC scenario, UAS scenario or None, default settle seconds)
# settle: how long after the UAC has finished the server's CPU is still charged to the run
# (work the load left behind: tm keeps every transaction 5 s after it ends).
SCENARIOS = {
    "options": ("options.cfg", "options-uac.xml", None, 1.0),
    "options-nats": ("options-nats.cfg", "options-uac.xml", None, 1.0),
    "stateless": ("stateless.cfg", "call-uac.xml", "call-uas.xml", 1.0),
    "stateful": ("stateful.cfg", "call-uac.xml", "call-uas.xml", 6.0),
    "dispatcher": ("dispatcher.cfg", "call-uac.xml", "call-uas.xml", 6.0),
    "dialog": ("dialog.cfg", "call-uac.xml", "call-uas.xml", 6.0),
    "jwt-hs256": ("jwt-hs256.cfg", "options-jwt-uac.xml", None, 1.0),
    "jwt-rs256": ("jwt-rs256.cfg", "options-jwt-uac.xml", None, 1.0),
    "register": ("register.cfg", "register-uac.xml", None, 1.0),
    "auth-register": ("auth-register.cfg", "auth-register-uac.xml", None, 1.0),
    # usrloc writes back every 5 s (timer_interval): the settle time covers one flush
    "register-pgsql": ("register-pgsql.cfg", "register-uac.xml", None, 6.0),
}

# scenario -> how many SIPp UAS it runs (default 1), on UAS_PORT, UAS_PORT + 1, ...: the
# dispatcher's round robin goes over two UAS (cfg/dispatcher.list names both)
UAS_COUNT = {"dispatcher": 2}

# scenario -> more UAC arguments (SIPp's digest credentials, see auth-register-uac.xml)
UAC_ARGS = {
    "auth-register": ["-au", "l[call_number]", "-ap", "loadpw-0123456789-l[call_number]"],
}

# scenarios whose configuration names {dburl}: they need --db-url (a PostgreSQL database with
# the `location` table, see start-postgres.sh); the table is emptied before each run
DATABASE_SCENARIOS = {"register-pgsql"}

KAMAILIO_CMD = "kamailio -f {cfg} -DD -E -n 2 -m 256 -Y {rundir}"

MAX_DURATION = 600.0   # seconds of load in one run
MAX_RATE = 200000      # calls per second
START_TIMEOUT = 20.0   # seconds for the server (and the UAS) to bind their port
STOP_GRACE = 5.0       # seconds between SIGTERM and SIGKILL
SAMPLE_EVERY = 0.25    # seconds between memory samples
DISTURBED_PCT = 5.0    # machine.others_pct above this: something else ran during the load


class Refused(Exception):
    """The run cannot be made on this machine now (ports taken, never quiet)."""


def note(*words):
    print("[sipload]", *words, file=sys.stderr, flush=True)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def r1(x):
    return None if x is None else round(x, 1)


def r3(x):
    return None if x is None else round(x, 3)


# ---------------------------------------------------------------------------------------
# machine

def cpu_jiffies():
    """(idle, total) jiffies of all CPUs, from the first line of /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)   # idle + iowait
    total = sum(fields[:8])                                      # without guest (in user)
    return idle, total


def busy_pct(before, after):
    d_idle, d_total = after[0] - before[0], after[1] - before[1]
    return 100.0 * (1.0 - d_idle / d_total) if d_total > 0 else 0.0


def machine_busy(seconds=1.0):
    a = cpu_jiffies()
    time.sleep(seconds)
    return busy_pct(a, cpu_jiffies())


def wait_until_quiet(max_busy, timeout):
    """Sample 1 s at a time until the machine is below max_busy % busy.
    Returns (busy %, seconds waited); raises Refused after timeout seconds."""
    started = time.monotonic()
    said = None
    while True:
        busy = machine_busy(1.0)
        waited = time.monotonic() - started
        if busy < max_busy:
            return busy, waited
        if waited >= timeout:
            raise Refused(f"machine not quiet: {busy:.0f}% busy after waiting {waited:.0f} s "
                          f"(needs < {max_busy:g}%)")
        if said is None or waited - said >= 30:
            note(f"machine {busy:.0f}% busy (needs < {max_busy:g}%), waiting")
            said = waited
        time.sleep(1.0)


def taken_ports():
    """The ports among 5060/5070/5071/5080 that cannot be bound on 127.0.0.1 (UDP or TCP)."""
    taken = []
    for port in PORTS:
        for kind, name in ((socket.SOCK_DGRAM, "udp"), (socket.SOCK_STREAM, "tcp")):
            s = socket.socket(socket.AF_INET, kind)
            try:
                if kind == socket.SOCK_STREAM:
                    # TIME_WAIT leftovers do not count as taken, a listener does
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((LOOPBACK, port))
            except OSError:
                taken.append(f"{port}/{name}")
            finally:
                s.close()
    return taken


def udp_port_bound(port):
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    local = line.split()[1]
                    if int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


# ---------------------------------------------------------------------------------------
# processes

def read_stat(pid, tid=None):
    """Fields of /proc/PID[/task/TID]/stat: ppid, utime, stime (ticks), start, threads."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    v = text[text.rindex(")") + 2:].split()   # v[0] is field 3 (state)
    return {"ppid": int(v[1]), "utime": int(v[11]), "stime": int(v[12]),
            "threads": int(v[17]), "start": int(v[19])}


def process_tree(root):
    """root and every descendant that is alive now."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = read_stat(int(name))
            if st:
                children.setdefault(st["ppid"], []).append(int(name))
    if read_stat(root) is None:
        return []
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(tree)


def cpu_snapshot(pids):
    """{pid: (start, utime, stime)}; a process's utime/stime cover all its threads."""
    snap = {}
    for pid in pids:
        st = read_stat(pid)
        if st:
            snap[pid] = (st["start"], st["utime"], st["stime"])
    return snap


def cpu_used(before, after):
    """(user s, system s) between two snapshots; a process born in between counts whole."""
    user = system = 0
    for pid, (start, ut, stt) in after.items():
        old = before.get(pid)
        if old and old[0] == start:
            user += ut - old[1]
            system += stt - old[2]
        else:
            user += ut
            system += stt
    return user / TICK, system / TICK


def sched_snapshot(pids):
    """{(pid, tid, start): ns on a CPU} from /proc/PID/task/TID/schedstat."""
    snap = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            st = read_stat(pid, tid)
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    ns = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if st:
                snap[(pid, int(tid), st["start"])] = ns
    return snap


def sched_used(before, after):
    return sum(ns - before.get(key, 0) for key, ns in after.items()) / 1e9


def memory_kb(pids):
    """(sum of VmRSS, sum of Pss, sum of VmHWM) in kB over pids, and the thread count."""
    rss = pss = hwm = threads = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
                    elif line.startswith("Threads:"):
                        threads += int(line.split()[1])
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                        break
        except OSError:
            pass
    return rss, pss, hwm, threads


_libc = None


def _die_with_parent():
    """In the child before exec: SIGTERM when the driver dies (PR_SET_PDEATHSIG)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def start(cmd, cwd, stdout, stderr):
    return subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, start_new_session=True,
                            preexec_fn=_die_with_parent)


def stop(proc, pids):
    """SIGTERM to proc, then SIGKILL to any of pids (same start time) still alive.
    Returns proc's exit status (negative: the signal that ended it), None if it would not end."""
    if proc is None:
        return None
    known = {pid: read_stat(pid) for pid in pids or [proc.pid]}
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            pass
    for pid, st in known.items():
        now = read_stat(pid)
        if st and now and now["start"] == st["start"]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        return None
    return proc.returncode


def tail(path, limit=4000):
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


# ---------------------------------------------------------------------------------------
# SIPp

SIPP_EXIT = {0: "all calls successful", 1: "some calls failed",
             97: "stopped by an internal command", 99: "no call processed",
             255: "fatal error", 254: "could not bind its socket"}


def sipp_common(workdir, trace=False):
    # every socket of sipp on loopback: SIP (-i with -bind_local), media (-mi), control (-ci)
    args = ["-i", LOOPBACK, "-bind_local", "-mi", LOOPBACK, "-ci", LOOPBACK,
            "-nostdin", "-buff_size", "4194304",
            "-trace_err", "-error_file", os.path.join(workdir, "errors.log")]
    if trace:
        args += ["-trace_msg", "-message_file", os.path.join(workdir, "messages.log")]
    return args


def stats_row(path):
    """The last row of a SIPp -trace_stat file, as {column: value}."""
    try:
        with open(path, errors="replace") as f:
            rows = [line.rstrip("\r\n") for line in f if line.strip()]
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    head = rows[0].rstrip(";").split(";")
    return dict(zip(head, rows[-1].rstrip(";").split(";")))


def count(row, key):
    try:
        return int(float(row[key]))
    except (KeyError, ValueError):
        return None


def epoch(text):
    """SIPp time stamps: "date<TAB>time<TAB>seconds.micro since the epoch"."""
    try:
        return float(text.split("\t")[-1])
    except (AttributeError, ValueError):
        return None


def seconds(text):
    """SIPp durations: HH:MM:SS, HH:MM:SS:micro or HH:MM:SS.frac."""
    try:
        parts = text.split(":")
        s = int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
        if len(parts) > 3:
            s += int(parts[3]) / 10 ** len(parts[3])
        return s
    except (AttributeError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------------------------------
# one run

def empty_location_table(url):
    """Deletes every row of `location` in the database of a postgres:// URL (psql)."""
    u = urllib.parse.urlsplit(url)
    env = dict(os.environ, PGPASSWORD=urllib.parse.unquote(u.password or ""))
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", u.hostname or LOOPBACK,
           "-p", str(u.port or 5432), "-U", urllib.parse.unquote(u.username or "kamailio"),
           "-d", u.path.lstrip("/") or "kamailio", "-c", "DELETE FROM location"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise Refused("cannot empty the location table: " + (r.stderr.strip() or r.stdout.strip()))


def check_targets(cfg, uas_ports):
    """A scenario with several UAS (dispatcher) must send calls to each: its dispatcher.list
    beside the configuration has to name every UAS port, or the run measures something else."""
    if len(uas_ports) < 2:
        return
    path = os.path.join(os.path.dirname(cfg), "dispatcher.list")
    with open(path) as f:
        named = {int(m) for m in re.findall(r"^\s*\d+\s+sip:127\.0\.0\.1:(\d+)", f.read(), re.M)}
    missing = [p for p in uas_ports if p not in named]
    if missing:
        raise SystemExit(f"{path} names no target on UAS port(s) {missing}: every UAS of the "
                         f"scenario must get calls (ports {uas_ports})")


def server_command(template, cfg, rundir):
    return shlex.split(template.replace("{cfg}", cfg).replace("{rundir}", rundir))


def one_run(opt, template, label, scenario, rate, duration, mode="fixed"):
    """Measure one server at one rate. Returns the result record; raises Refused."""
    cfg_name, uac_xml, uas_xml, default_settle = SCENARIOS[scenario]
    settle = default_settle if opt.settle is None else opt.settle
    rate = int(rate)
    planned = max(1, int(round(rate * duration)))
    cfg = os.path.join(HERE, "cfg", cfg_name)
    rec = {
        "schema": SCHEMA, "time": utc_now(), "mode": mode, "label": label,
        "scenario": scenario, "rate": rate, "duration_s": duration,
        "calls_planned": planned, "settle_s": settle,
        "ok": False, "error": None, "pass": False,
        "cfg": os.path.relpath(cfg, os.path.dirname(os.path.dirname(HERE))),
        "server_cmd": None,
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
    }

    if scenario in DATABASE_SCENARIOS and not opt.db_url:
        raise Refused(f"scenario {scenario} needs --db-url (Benchmarks/load/start-postgres.sh makes one)")
    if not opt.dry_run:
        busy, waited = wait_until_quiet(opt.quiet_busy, opt.quiet_timeout)
        rec["machine"]["busy_before_pct"] = r1(busy)
        rec["machine"]["quiet_wait_s"] = r1(waited)
        taken = taken_ports()
        if taken:
            raise Refused("ports taken: " + ", ".join(taken) + " (another server or SIPp is running)")

    rundir = tempfile.mkdtemp(prefix=f"sipload-{scenario}-{rate}-")
    uac_dir = os.path.join(rundir, "uac")
    os.mkdir(uac_dir)
    # one directory per UAS: uas (5070), uas2 (5071), ...
    uas_ports = [UAS_PORT + i for i in range(UAS_COUNT.get(scenario, 1))] if uas_xml else []
    uas_dirs = [os.path.join(rundir, "uas" + (str(i + 1) if i else "")) for i in range(len(uas_ports))]
    for d in uas_dirs:
        os.mkdir(d)
    # A configuration naming files beside it ({cfgdir}, e.g. dispatcher's list_file) runs
    # from a copy in the run directory with the absolute directory put in.
    with open(cfg) as f:
        cfg_text = f.read()
    run_cfg = cfg
    if "{cfgdir}" in cfg_text or "{dburl}" in cfg_text:
        run_cfg = os.path.join(rundir, cfg_name)
        with open(run_cfg, "w") as f:
            f.write(cfg_text.replace("{cfgdir}", os.path.dirname(cfg))
                    .replace("{dburl}", opt.db_url or ""))
    check_targets(cfg, uas_ports)
    if scenario in DATABASE_SCENARIOS and not opt.dry_run:
        empty_location_table(opt.db_url)
    cmd = server_command(template, run_cfg, rundir)
    rec["server_cmd"] = shlex.join(cmd)
    if opt.dry_run:
        print(shlex.join(cmd))

    server = uac = None
    uases = []
    server_pids = []
    files = []
    keep = [None]   # None: keep the run directory after an error
    try:
        # ---------------- server
        out = open(os.path.join(rundir, "server.stdout"), "w")
        err_path = os.path.join(rundir, "server.stderr")
        err = open(err_path, "w")
        files += [out, err]

        def server_log():
            return (tail(err_path) or tail(os.path.join(rundir, "server.stdout"))
                    or "(no output)")

        def start_failed(why):
            rec["error"] = "server failed to start: " + server_log()
            rec["server_start"] = why
            # the record holds what there is to see, unless the output was cut
            keep[0] = rec["error"].startswith("server failed to start: ...")
            return rec
        if not opt.dry_run:
            try:
                server = start(cmd, rundir, out, err)
            except OSError as e:
                rec["error"] = f"server failed to start: {e}"
                rec["server_start"] = "could not be executed"
                return rec
            deadline = time.monotonic() + START_TIMEOUT
            while not udp_port_bound(SERVER_PORT):
                if server.poll() is not None:
                    return start_failed(f"exited with status {server.returncode}")
                if time.monotonic() > deadline:
                    return start_failed(f"udp:{LOOPBACK}:{SERVER_PORT} not bound after "
                                        f"{START_TIMEOUT:g} s")
                time.sleep(0.05)
            # let it finish starting (Kamailio forks its workers after binding)
            last, stable, deadline = None, 0, time.monotonic() + 10
            while stable < 4 and time.monotonic() < deadline and server.poll() is None:
                tree = process_tree(server.pid)
                stable = stable + 1 if tree == last else 0
                last = tree
                time.sleep(0.125)
            if server.poll() is not None:
                return start_failed(f"exited with status {server.returncode} after binding")
            server_pids = process_tree(server.pid)

        # ---------------- UAS
        for uas_port, uas_dir in zip(uas_ports, uas_dirs):
            uas_cmd = (["sipp", "-sf", os.path.join(HERE, "scenarios", uas_xml),
                        "-p", str(uas_port)] + sipp_common(uas_dir, opt.trace)
                       + ["-timeout", f"{int(duration + settle + 90)}s"])
            if uas_port == UAS_PORT:
                rec["uas_cmd"] = shlex.join(uas_cmd)
            else:
                rec.setdefault("uas_cmds_more", []).append(shlex.join(uas_cmd))
            if opt.dry_run:
                print(shlex.join(uas_cmd))
            else:
                uas_err = open(os.path.join(uas_dir, "stderr"), "w")
                files.append(uas_err)
                uas = start(uas_cmd, uas_dir, subprocess.DEVNULL, uas_err)
                uases.append(uas)
                deadline = time.monotonic() + START_TIMEOUT
                while not udp_port_bound(uas_port):
                    if uas.poll() is not None or time.monotonic() > deadline:
                        rec["error"] = ("sipp UAS failed to start: "
                                        + tail(os.path.join(uas_dir, "stderr")))
                        return rec
                    time.sleep(0.05)

        # ---------------- UAC command
        limit = max(50, 3 * rate)
        uac_cmd = (["sipp", f"{LOOPBACK}:{SERVER_PORT}",
                    "-sf", os.path.join(HERE, "scenarios", uac_xml),
                    "-p", str(UAC_PORT)] + UAC_ARGS.get(scenario, []) + sipp_common(uac_dir, opt.trace)
                   + ["-r", str(rate), "-rp", "1000", "-m", str(planned), "-l", str(limit),
                      "-recv_timeout", "5000", "-timeout", f"{int(duration + 30)}s", "-timeout_error",
                      "-trace_stat", "-stf", os.path.join(uac_dir, "stats.csv"), "-fd", "1"])
        rec["uac_cmd"] = shlex.join(uac_cmd)
        if opt.dry_run:
            print(shlex.join(uac_cmd))
            rec["error"] = "dry run"
            return rec

        # ---------------- idle server
        c0 = cpu_snapshot(process_tree(server.pid))
        time.sleep(1.0)
        c1 = cpu_snapshot(process_tree(server.pid))
        idle_cpu = sum(cpu_used(c0, c1))

        # ---------------- load
        peak = [0, 0, 0, 0]

        def sample():
            for i, v in enumerate(memory_kb(process_tree(server.pid))):
                peak[i] = max(peak[i], v)

        sample()
        srv0 = cpu_snapshot(process_tree(server.pid))
        sch0 = sched_snapshot(process_tree(server.pid))
        uas0 = cpu_snapshot([u.pid for u in uases]) if uases else {}
        mach0 = cpu_jiffies()
        self0 = os.times()
        t0 = time.monotonic()
        uac_err = open(os.path.join(uac_dir, "stderr"), "w")
        files.append(uac_err)
        uac = start(uac_cmd, uac_dir, subprocess.DEVNULL, uac_err)
        deadline = t0 + duration + 40
        uac_usage = None
        overran = False
        next_sample = t0 + SAMPLE_EVERY
        while True:
            pid, status, usage = os.wait4(uac.pid, os.WNOHANG)
            if pid == uac.pid:
                uac.returncode = os.waitstatus_to_exitcode(status)
                uac_usage = usage
                break
            now = time.monotonic()
            if now > deadline and not overran:
                overran = True
                note("sipp UAC overran its time, killing it")
                os.kill(uac.pid, signal.SIGKILL)
            if now >= next_sample:
                sample()
                next_sample = now + SAMPLE_EVERY
            time.sleep(0.02)
        t1 = time.monotonic()
        srv_load = cpu_snapshot(process_tree(server.pid))
        mach1 = cpu_jiffies()
        self1 = os.times()
        # settle: the server's CPU keeps being counted (timers, deferred frees)
        settle_end = t1 + settle
        while time.monotonic() < settle_end:
            time.sleep(min(SAMPLE_EVERY, max(0.0, settle_end - time.monotonic())))
            sample()
        srv1 = cpu_snapshot(process_tree(server.pid))
        sch1 = sched_snapshot(process_tree(server.pid))
        uas1 = cpu_snapshot([u.pid for u in uases]) if uases else {}
        final_tree = process_tree(server.pid)
        server_alive = server.poll() is None

        # ---------------- results
        row = stats_row(os.path.join(uac_dir, "stats.csv"))
        created = count(row, "TotalCallCreated")
        ok_calls = count(row, "SuccessfulCall(C)")
        failed = count(row, "FailedCall(C)")
        # from the UAC's start to its last statistics (ElapsedTime(C) has whole seconds only)
        t_start, t_last = epoch(row.get("StartTime")), epoch(row.get("CurrentTime"))
        elapsed = (t_last - t_start) if t_start and t_last and t_last > t_start else None
        wall = t1 - t0
        if not elapsed:
            elapsed = seconds(row.get("ElapsedTime(C)")) or wall
        user, system = cpu_used(srv0, srv1)
        cpu = user + system
        cpu_load = sum(cpu_used(srv0, srv_load))
        cpu_sched = sched_used(sch0, sch1)
        uac_cpu = (uac_usage.ru_utime + uac_usage.ru_stime) if uac_usage else None
        uas_cpu = sum(cpu_used(uas0, uas1)) if uases else None
        own_cpu = (self1.user - self0.user) + (self1.system - self0.system)
        cpus = os.cpu_count() or 1
        busy_during = busy_pct(mach0, mach1)
        ours = 100.0 * (cpu_load + (uac_cpu or 0) + (uas_cpu or 0) + own_cpu) / (wall * cpus)

        rec["calls"] = {
            "created": created, "successful": ok_calls, "failed": failed,
            "retransmissions": count(row, "Retransmissions(C)"),
            "failed_timeout": count(row, "FailedTimeoutOnRecv(C)"),
            "failed_max_retrans": count(row, "FailedMaxUDPRetrans(C)"),
            "failed_unexpected": count(row, "FailedUnexpectedMessage(C)"),
            "out_of_call_msgs": count(row, "OutOfCallMsgs(C)"),
        }
        rec["achieved_rate"] = r1(ok_calls / elapsed) if ok_calls is not None and elapsed else None
        rec["server"] = {
            "cpu_s": r3(cpu), "user_s": r3(user), "sys_s": r3(system),
            "cpu_us_per_call": r1(1e6 * cpu / ok_calls) if ok_calls else None,
            "cpu_s_load": r3(cpu_load),
            "cpu_s_sched": r3(cpu_sched),
            "cpu_us_per_call_sched": r1(1e6 * cpu_sched / ok_calls) if ok_calls else None,
            "core_pct_load": r1(100.0 * cpu_load / wall),
            "idle_cpu_pct": r1(100.0 * idle_cpu),
            "peak_rss_mb": r1(peak[0] / 1024), "peak_pss_mb": r1(peak[1] / 1024),
            "hwm_mb": r1(memory_kb(final_tree)[2] / 1024) if final_tree else None,
            "processes": len(final_tree) or len(server_pids), "threads": peak[3],
        }
        rec["sipp"] = {
            "uac_exit": uac.returncode,
            "uac_exit_meaning": SIPP_EXIT.get(uac.returncode % 256, "unknown"),
            "uac_elapsed_s": r3(elapsed), "uac_wall_s": r3(wall),
            "uac_cpu_s": r3(uac_cpu), "uas_cpu_s": r3(uas_cpu),
        }
        rec["machine"]["busy_during_pct"] = r1(busy_during)
        rec["machine"]["others_pct"] = r1(busy_during - ours)
        rec["machine"]["disturbed"] = busy_during - ours > DISTURBED_PCT

        if not server_alive:
            rec["error"] = f"server exited during the run (status {server.returncode}): " + server_log()
        elif not row:
            rec["error"] = ("sipp UAC wrote no statistics (exit status "
                            f"{uac.returncode}): " + tail(os.path.join(uac_dir, "stderr")))
        elif overran:
            rec["error"] = f"sipp UAC did not finish within {duration + 40:g} s"
        else:
            rec["ok"] = True
        if rec["ok"]:
            problems = []
            if created is None or created < planned:
                problems.append(f"created {created} of {planned} calls")
            if failed is None or failed > opt.max_fail_pct / 100.0 * (created or 0):
                problems.append(f"{failed} calls failed")
            if rec["achieved_rate"] is None or rec["achieved_rate"] < opt.min_rate_pct / 100.0 * rate:
                problems.append(f"achieved {rec['achieved_rate']} calls/s of {rate}")
            rec["pass"] = not problems
            if problems:
                rec["fail_reason"] = "; ".join(problems)
        return rec
    finally:
        if uac is not None and uac.returncode is None and uac.poll() is None:
            uac.kill()
            uac.wait()
        for uas in uases:
            stop(uas, [uas.pid])
        if server is not None:
            status = stop(server, server_pids)
            if "server" in rec:
                rec["server"]["exit_status"] = status
        for f in files:
            f.close()
        if (opt.keep or (not rec["ok"] and keep[0] is not False)) and not opt.dry_run:
            rec["rundir"] = rundir
        else:
            shutil.rmtree(rundir, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# output

def emit(rec, out, to_stdout=True):
    line = json.dumps(rec, ensure_ascii=False)
    if to_stdout:
        print(line, flush=True)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")


def summary(rec):
    if not rec.get("ok"):
        first = (rec.get("error") or "").splitlines()
        return f"{rec['label']} {rec['scenario']} @{rec['rate']}/s: ERROR {first[0] if first else ''}"
    c, s = rec["calls"], rec["server"]
    return (f"{rec['label']} {rec['scenario']} @{rec['rate']}/s: {c['successful']} ok, {c['failed']} failed, "
            f"{rec['achieved_rate']}/s, {s['cpu_us_per_call']} us/call (sched {s['cpu_us_per_call_sched']}), "
            f"peak RSS {s['peak_rss_mb']} MB, machine {rec['machine']['busy_during_pct']}% busy"
            f"{' (DISTURBED: ' + str(rec['machine']['others_pct']) + '% by others)' if rec['machine']['disturbed'] else ''}, "
            f"{'pass' if rec['pass'] else 'FAIL: ' + rec.get('fail_reason', '')}")


def check_tools(templates):
    missing = [t for t in ["sipp"] + [shlex.split(x)[0] for x in templates] if not shutil.which(t)]
    if missing:
        raise SystemExit("sipload: not found: " + ", ".join(missing)
                         + (" (apt-get install -y sip-tester)" if "sipp" in missing else ""))


def default_label(template):
    return os.path.basename(shlex.split(template)[0])


# ---------------------------------------------------------------------------------------
# modes

def cmd_run(opt):
    label = opt.label or default_label(opt.server)
    if not opt.dry_run:
        check_tools([opt.server])
    status = 0
    for i in range(opt.repeat):
        rec = one_run(opt, opt.server, label, opt.scenario, opt.rate, opt.duration)
        rec["repeat_index"] = i
        if opt.dry_run:
            return 0
        note(summary(rec))
        emit(rec, opt.out)
        status = max(status, 0 if rec["pass"] else (1 if rec["ok"] else 2))
    return status


def maxrate(opt, template, label, scenario, to_stdout=True):
    """Raise the rate step by step; the summary record names the highest passing step."""
    steps = sorted({int(x) for x in opt.steps.split(",") if x.strip()})
    tried, best, first_fail, reason, error = [], None, None, "every step passed", None

    def step(rate):
        rec = one_run(opt, template, label, scenario, rate, opt.step_duration, mode="maxrate-step")
        note(summary(rec))
        emit(rec, opt.out, to_stdout)
        c, s = rec.get("calls") or {}, rec.get("server") or {}
        tried.append({"rate": rate, "pass": rec["pass"], "achieved_rate": rec.get("achieved_rate"),
                      "failed": c.get("failed"), "cpu_us_per_call": s.get("cpu_us_per_call"),
                      "server_core_pct": s.get("core_pct_load"),
                      "uac_cpu_s": (rec.get("sipp") or {}).get("uac_cpu_s"),
                      "error": rec.get("error")})
        return rec

    for rate in steps:
        rec = step(rate)
        if rec["pass"]:
            best = rate
            continue
        first_fail = rate
        if not rec["ok"]:
            reason, error = "error", rec["error"]
        elif rec["calls"]["failed"]:
            reason = "calls failed"
        else:
            reason = "rate not reached (" + rec.get("fail_reason", "") + ")"
        break
    if best is not None and first_fail is not None and error is None:
        lo, hi = best, first_fail
        for _ in range(opt.refine):
            mid = int(round((lo + hi) / 2.0 / 50.0) * 50)
            if mid <= lo or mid >= hi:
                break
            rec = step(mid)
            if rec["pass"]:
                lo = best = mid
            else:
                hi = first_fail = mid
                if not rec["ok"]:
                    break
    result = {"schema": SCHEMA, "time": utc_now(), "mode": "maxrate", "label": label,
              "scenario": scenario, "max_rate": best or 0, "first_failing_rate": first_fail,
              "stop_reason": reason, "error": error, "step_duration_s": opt.step_duration,
              "pass_rule": f"failed <= {opt.max_fail_pct:g}% and achieved >= {opt.min_rate_pct:g}% of the rate",
              "server_cmd": template, "steps": tried}
    emit(result, opt.out, to_stdout)
    note(f"{label} {scenario}: max rate {best or 0} calls/s"
         + (f", first failing {first_fail} ({reason})" if first_fail else " (highest step passed)"))
    return result


def cmd_maxrate(opt):
    check_tools([opt.server])
    res = maxrate(opt, opt.server, opt.label or default_label(opt.server), opt.scenario)
    return 0 if res["error"] is None else 2


def cmd_compare(opt):
    check_tools([opt.a, opt.b])
    la, lb = opt.label_a or default_label(opt.a), opt.label_b or default_label(opt.b)
    if la == lb:
        la, lb = la + "-A", lb + "-B"
    out = opt.out or f"compare-{datetime.datetime.now():%Y-%m-%d-%H%M}.jsonl"
    opt.out = out
    note(f"results: {out}")
    try:
        for scenario in opt.scenarios:
            for i in range(opt.repeat):
                for template, label in ((opt.a, la), (opt.b, lb)):
                    rec = one_run(opt, template, label, scenario, opt.rate, opt.duration)
                    rec["repeat_index"] = i
                    note(summary(rec))
                    emit(rec, out, to_stdout=False)
        if opt.maxrate:
            for scenario in opt.scenarios:
                for template, label in ((opt.a, la), (opt.b, lb)):
                    maxrate(opt, template, label, scenario, to_stdout=False)
    finally:
        # also after a refusal or Ctrl-C: the table of what was measured
        if os.path.exists(out):
            print(table(read_records(out), la, lb), flush=True)
    return 0


def cmd_table(opt):
    recs = read_records(opt.file)
    labels = []
    for r in recs:
        if r.get("label") not in labels:
            labels.append(r.get("label"))
    la = opt.label_a or (labels[0] if labels else "A")
    lb = opt.label_b or (labels[1] if len(labels) > 1 else "B")
    print(table(recs, la, lb))
    return 0


def read_records(path):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("schema") == SCHEMA:
                    recs.append(rec)
    return recs


def median_text(values, digits=0):
    if not values:
        return "-"
    fmt = (lambda v: f"{v:.{digits}f}")
    m = statistics.median(values)
    if len(values) == 1:
        return fmt(m)
    return f"{fmt(m)} ({fmt(min(values))}-{fmt(max(values))}, n={len(values)})"


def median_only(values, digits=0):
    return f"{statistics.median(values):.{digits}f}" if values else "-"


def table(recs, la, lb):
    """Markdown: per scenario and rate, medians of A and B and the ratio B/A."""
    fixed = [r for r in recs if r.get("mode") == "fixed" and r.get("label") in (la, lb)]
    keys = []
    for r in fixed:
        if (r["scenario"], r["rate"]) not in keys:
            keys.append((r["scenario"], r["rate"]))
    lines = [f"| scenario | calls/s | {la} CPU µs/call, median (min-max, n) | {lb} CPU µs/call | "
             f"ratio {lb}/{la} | {la} achieved calls/s, median | {lb} achieved calls/s | "
             f"{la} peak RSS MB, median | {lb} peak RSS MB | failed calls {la} / {lb} |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for scenario, rate in keys:
        cols, meds = [], {}
        for label in (la, lb):
            runs = [r for r in fixed if r["label"] == label and r["scenario"] == scenario
                    and r["rate"] == rate]
            good = [r for r in runs if r.get("ok")]
            cpu = [r["server"]["cpu_us_per_call"] for r in good
                   if r["server"]["cpu_us_per_call"] is not None]
            meds[label] = statistics.median(cpu) if cpu else None
            errors = sorted({(r.get("error") or "").splitlines()[0] for r in runs if not r.get("ok")})
            for e in errors:
                notes.append(f"* {label} {scenario}: {e}")
            cols.append({
                "cpu": median_text(cpu) if cpu else ("error" if errors else "-"),
                "rate": median_only([r["achieved_rate"] for r in good if r.get("achieved_rate") is not None]),
                "rss": median_only([r["server"]["peak_rss_mb"] for r in good], 1),
                "failed": str(sum(r["calls"]["failed"] or 0 for r in good)) if good else "-",
            })
            disturbed = sum(1 for r in good if r["machine"].get("disturbed"))
            if disturbed:
                notes.append(f"* {label} {scenario} @{rate}: {disturbed} of {len(good)} runs disturbed "
                             f"(machine.others_pct > {DISTURBED_PCT:g}): rerun for figures")
        ratio = (f"{meds[lb] / meds[la]:.2f}" if meds[la] and meds[lb] is not None else "-")
        lines.append(f"| {scenario} | {rate} | {cols[0]['cpu']} | {cols[1]['cpu']} | {ratio} | "
                     f"{cols[0]['rate']} | {cols[1]['rate']} | {cols[0]['rss']} | {cols[1]['rss']} | "
                     f"{cols[0]['failed']} / {cols[1]['failed']} |")
    top = [r for r in recs if r.get("mode") == "maxrate" and r.get("label") in (la, lb)]
    if top:
        lines += ["", f"| scenario | {la} max rate (first failing) | {lb} max rate (first failing) |",
                  "|---|---|---|"]
        for scenario in dict.fromkeys(r["scenario"] for r in top):
            cells = []
            for label in (la, lb):
                found = [r for r in top if r["scenario"] == scenario and r["label"] == label]
                if not found:
                    cells.append("-")
                    continue
                r = found[-1]
                if r.get("error"):
                    cells.append("error")
                    notes.append(f"* {label} {scenario} maxrate: {r['error'].splitlines()[0]}")
                elif r.get("first_failing_rate") is None:
                    cells.append(f"≥ {r['max_rate']} (highest step)")
                else:
                    cells.append(f"{r['max_rate']} ({r['first_failing_rate']})")
            lines.append(f"| {scenario} | {cells[0]} | {cells[1]} |")
    if notes:
        lines += [""] + list(dict.fromkeys(notes))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(prog="sipload.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)

    def common(sp):
        sp.add_argument("--out", help="append the JSON records to this file")
        sp.add_argument("--settle", type=float, default=None,
                        help="seconds after the UAC ends still charged to the server "
                             "(default per scenario: options/stateless 1, stateful 6)")
        sp.add_argument("--quiet-busy", type=float, default=10.0,
                        help="machine busy %% (all CPUs, 1 s of /proc/stat) below which a run starts")
        sp.add_argument("--quiet-timeout", type=float, default=600.0,
                        help="seconds to wait for a quiet machine before refusing")
        sp.add_argument("--max-fail-pct", type=float, default=0.0,
                        help="pass: at most this %% of the calls failed (default 0)")
        sp.add_argument("--min-rate-pct", type=float, default=95.0,
                        help="pass: achieved rate at least this %% of the target (default 95)")
        sp.add_argument("--keep", action="store_true",
                        help="keep each run's directory (server log, sipp statistics and errors)")
        sp.add_argument("--db-url", default=os.environ.get("SIPLOAD_DB_URL"),
                        help="postgres:// URL for the database scenarios (register-pgsql); "
                             "default $SIPLOAD_DB_URL")
        sp.add_argument("--trace", action="store_true",
                        help="sipp -trace_msg into the run directory (checking flows; "
                             "slows sipp, not for figures; implies --keep)")

    def maxrate_opts(sp):
        sp.add_argument("--steps", default="500,1000,2000,4000,8000,16000,32000,64000",
                        help="rates to try, in increasing order, until one fails")
        sp.add_argument("--step-duration", type=float, default=10.0, help="seconds per step")
        sp.add_argument("--refine", type=int, default=2,
                        help="halving steps between the last passing and the first failing rate")

    sp = sub.add_parser("run", help="fixed rate, fixed duration")
    sp.add_argument("--server", default=KAMAILIO_CMD, help="server command template ({cfg}, {rundir})")
    sp.add_argument("--label", help="name in the records (default: the command's basename)")
    sp.add_argument("--scenario", choices=sorted(SCENARIOS), default="options")
    sp.add_argument("--rate", type=int, default=500, help="calls per second")
    sp.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    sp.add_argument("--repeat", type=int, default=1, help="runs in a row")
    sp.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    common(sp)
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("maxrate", help="highest rate without failures")
    sp.add_argument("--server", default=KAMAILIO_CMD)
    sp.add_argument("--label")
    sp.add_argument("--scenario", choices=sorted(SCENARIOS), default="options")
    common(sp)
    maxrate_opts(sp)
    sp.set_defaults(func=cmd_maxrate, dry_run=False)

    sp = sub.add_parser("compare", help="two servers interleaved, then a Markdown table")
    sp.add_argument("--a", required=True, help="server A command template")
    sp.add_argument("--b", required=True, help="server B command template")
    sp.add_argument("--label-a")
    sp.add_argument("--label-b")
    sp.add_argument("--scenarios", nargs="+", choices=sorted(SCENARIOS), default=["options", "stateless"])
    sp.add_argument("--rate", type=int, default=500)
    sp.add_argument("--duration", type=float, default=20.0)
    sp.add_argument("--repeat", type=int, default=3)
    sp.add_argument("--maxrate", action="store_true", help="also a maxrate search per server and scenario")
    common(sp)
    maxrate_opts(sp)
    sp.set_defaults(func=cmd_compare, dry_run=False)

    sp = sub.add_parser("table", help="the compare table of a results file")
    sp.add_argument("file")
    sp.add_argument("--label-a")
    sp.add_argument("--label-b")
    sp.set_defaults(func=cmd_table)

    opt = p.parse_args(argv)
    if getattr(opt, "trace", False):
        opt.keep = True
    for name in ("rate",):
        v = getattr(opt, name, None)
        if v is not None and not 1 <= v <= MAX_RATE:
            p.error(f"--rate must be 1..{MAX_RATE}")
    for name in ("duration", "step_duration"):
        v = getattr(opt, name, None)
        if v is not None and not 0 < v <= MAX_DURATION:
            p.error(f"--{name.replace('_', '-')} must be in (0, {MAX_DURATION:g}] seconds")
    if getattr(opt, "steps", None):
        bad = [x for x in opt.steps.split(",") if x.strip() and not (x.strip().isdigit()
                                                                    and 1 <= int(x) <= MAX_RATE)]
        if bad:
            p.error(f"--steps: rates must be 1..{MAX_RATE}")
    try:
        return opt.func(opt)
    except Refused as e:
        note(f"refused: {e}")
        return 3
    except KeyboardInterrupt:
        note("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
