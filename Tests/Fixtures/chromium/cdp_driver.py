#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol (CDP), on the python3 standard library
(a minimal RFC 6455 client), for the real-browser tests.

  cdp_driver.py URL --until JS_EXPR [--timeout S] [--print JS_EXPR]... [--screenshot PNG]

Starts `chromium --headless=new --remote-debugging-port=0` with a fresh profile, opens URL,
evaluates JS_EXPR every 200 ms until it is truthy (prints "UNTIL ok") or the timeout passes
("UNTIL timeout"), then prints "PRINT <json>" for each --print expression, saves a PNG
screenshot when asked ("SCREENSHOT path"), and the page's console messages ("CONSOLE ...").
Exits 0 when JS_EXPR became true.

Chromium runs with --ignore-certificate-errors: the tests' server certificate is signed by a
CA made for the test, which the fresh profile does not trust. As root it needs --no-sandbox.
"""
import argparse, base64, json, os, re, shutil, socket, struct, subprocess, sys, tempfile, threading, time
import urllib.request


class DevToolsSocket:
    """A WebSocket client for the DevTools endpoint: masked text frames out, any frames in."""

    def __init__(self, url):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        self.s = socket.create_connection((m.group(1), int(m.group(2))), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                        % (m.group(3), m.group(1), m.group(2), key)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            data = self.s.recv(4096)
            if not data:
                raise SystemExit("DevTools closed during the handshake")
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise SystemExit("DevTools handshake refused: %r" % head)
        self.next_id = 0
        self.events = []

    def send(self, text):
        payload = text.encode()
        n = len(payload)
        head = bytes([0x81])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _need(self, n):
        while len(self.buf) < n:
            data = self.s.recv(1 << 16)
            if not data:
                raise SystemExit("DevTools connection closed")
            self.buf += data

    def receive(self):
        message = b""
        while True:
            self._need(2)
            b0, b1 = self.buf[0], self.buf[1]
            n, pos = b1 & 0x7F, 2
            if n == 126:
                self._need(4)
                n, pos = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                self._need(10)
                n, pos = struct.unpack(">Q", self.buf[2:10])[0], 10
            self._need(pos + n)
            payload, self.buf = self.buf[pos:pos + n], self.buf[pos + n:]
            if b0 & 0x0F in (0, 1, 2):
                message += payload
                if b0 & 0x80:
                    return json.loads(message.decode())

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = self.receive()
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise SystemExit("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return r.get("result", {}).get("value")


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("no chromium")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--until", required=True)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--print", action="append", default=[])
    ap.add_argument("--screenshot")
    args = ap.parse_args()

    profile = tempfile.mkdtemp(prefix="swiftlet-chromium-")
    cmd = [chromium_binary(), "--headless=new", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
           "--ignore-certificate-errors", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
           "--user-data-dir=" + profile, "--window-size=1400,900", "--disable-extensions",
           "--disable-background-networking", "--disable-dev-shm-usage", "about:blank"]
    if os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")
    browser = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ok = False
    try:
        endpoint = None
        deadline = time.time() + 30
        while time.time() < deadline and endpoint is None:
            line = browser.stderr.readline()
            if not line:
                raise SystemExit("chromium exited before DevTools listened")
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                endpoint = m.group(1)
        if endpoint is None:
            raise SystemExit("no DevTools endpoint")
        # Chromium goes on logging: keep reading so that it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in browser.stderr], daemon=True).start()
        port = re.match(r"ws://[^:]+:(\d+)/", endpoint).group(1)
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port, timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        cdp = DevToolsSocket(page["webSocketDebuggerUrl"])
        cdp.call("Runtime.enable")
        cdp.call("Page.enable")
        cdp.call("Page.navigate", url=args.url)
        deadline = time.time() + args.timeout
        while time.time() < deadline:
            try:
                if cdp.evaluate("Boolean(%s)" % args.until):
                    ok = True
                    break
            except SystemExit as e:  # the page is still loading
                print("EVAL %s" % e, flush=True)
            time.sleep(0.2)
        print("UNTIL %s" % ("ok" if ok else "timeout"), flush=True)
        for expr in args.print:
            print("PRINT %s" % json.dumps(cdp.evaluate(expr)), flush=True)
        if args.screenshot:
            shot = cdp.call("Page.captureScreenshot", format="png")
            os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            print("SCREENSHOT %s" % args.screenshot, flush=True)
        for e in cdp.events:
            if e.get("method") == "Runtime.consoleAPICalled":
                values = [a.get("value", a.get("description", "")) for a in e["params"].get("args", [])]
                print("CONSOLE %s" % " ".join(str(v) for v in values), flush=True)
            elif e.get("method") == "Runtime.exceptionThrown":
                print("EXCEPTION %s" % e["params"]["exceptionDetails"].get("text", ""), flush=True)
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
