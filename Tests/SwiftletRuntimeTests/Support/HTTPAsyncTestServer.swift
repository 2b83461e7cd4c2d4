import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A small HTTP/1.1 server on 127.0.0.1 (python3's asyncio, many connections at once) for
/// the HTTP client modules' tests; HTTPS with `certificate`/`key`. Paths:
/// `/status/CODE/REASON` answers CODE REASON (`%20` for spaces) with body `status`;
/// `/slow/MS` answers 200 Slow OK after MS milliseconds and closes the connection; `/never` reads the request and never answers;
/// `/trickle/N/MS` sends the reply head at once, then its N-byte body one `x` every MS milliseconds;
/// `/echo...` answers 200 with `method=M path=P body=B headers=H1|H2...`; `/redirectPATH`
/// answers 302 to PATH. Every reply has
/// `X-Test: one` and `X-Test: two`.
final class HTTPAsyncTestServer {
    let port: Int
    private let process = SpawnedProcess()
    private let directory = TemporaryDirectory()

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") }

    init(certificate: String? = nil, key: String? = nil) throws {
        let script = directory.write("http_server.py", Self.script)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script] + (certificate.map { [$0, key ?? ""] } ?? [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let handle = out.fileHandleForReading
        var text = ""
        let deadline = Date().addingTimeInterval(10)
        while !text.contains("\n"), Date() < deadline {
            let data = handle.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard text.hasPrefix("READY "), let p = Int(text.dropFirst(6).prefix { $0.isNumber }) else {
            process.terminate()
            throw TestFailure("the HTTP test server did not start: \(text)")
        }
        port = p
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            _ = process.waitForExit(timeout: 5)
        }
    }

    deinit { stop() }

    static let script = #"""
        import asyncio, ssl, sys

        async def handle(reader, writer):
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    method, path, _ = lines[0].split(" ", 2)
                    hdrs = [l for l in lines[1:] if ":" in l]
                    length = 0
                    for l in hdrs:
                        k, v = l.split(":", 1)
                        if k.strip().lower() == "content-length":
                            length = int(v.strip())
                    body = await reader.readexactly(length) if length else b""
                    status, reason, out = 200, "OK", b""
                    if path.startswith("/never"):
                        await asyncio.sleep(3600)
                        return
                    if path.startswith("/trickle/"):
                        n, ms = [int(x) for x in path[9:].split("/")[:2]]
                        writer.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Test: one\r\n"
                                      "X-Test: two\r\nContent-Length: %d\r\n\r\n" % n).encode("latin-1"))
                        await writer.drain()
                        for _ in range(n):
                            await asyncio.sleep(ms / 1000.0)
                            writer.write(b"x")
                            await writer.drain()
                        return
                    if path.startswith("/slow/"):
                        await asyncio.sleep(int(path[6:].split("?")[0]) / 1000.0)
                        reason, out = "Slow OK", b"slow"
                    elif path.startswith("/status/"):
                        parts = path[8:].split("/", 1)
                        status = int(parts[0])
                        reason = parts[1].replace("%20", " ") if len(parts) > 1 else "Whatever"
                        out = b"status"
                    elif path.startswith("/echo"):
                        out = ("method=%s path=%s body=%s headers=%s" % (method, path, body.decode("latin-1"),
                               "|".join(hdrs))).encode("latin-1")
                    elif path.startswith("/redirect"):
                        status, reason, out = 302, "Found", b"moved"
                        extra = "Location: %s\r\n" % path[9:]
                    if not path.startswith("/redirect"):
                        extra = ""
                    resp = ("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nX-Test: one\r\nX-Test: two\r\n%s"
                            "Content-Length: %d\r\n\r\n" % (status, reason, extra, len(out)))
                    writer.write(resp.encode("latin-1") + out)
                    await writer.drain()
                    if path.startswith("/slow/"):
                        return  # closed first here: no TIME_WAIT on the client's ports
            except Exception:
                pass
            finally:
                try:
                    writer.close()
                except Exception:
                    pass

        async def main():
            context = None
            if len(sys.argv) > 2:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.load_cert_chain(sys.argv[1], sys.argv[2])
            server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context, backlog=4096)
            print("READY %d" % server.sockets[0].getsockname()[1], flush=True)
            async with server:
                await server.serve_forever()

        asyncio.run(main())
        """#
}

/// A test CA and a server certificate for 127.0.0.1 signed by it (openssl CLI), with the CA
/// in a hashed directory for libcurl's CAPATH.
struct HTTPAsyncTestCertificates {
    let directory = TemporaryDirectory()
    var caDirectory: String { directory.path + "/ca" }
    var certificate: String { directory.path + "/server.pem" }
    var key: String { directory.path + "/server.key" }

    init() throws {
        let d = directory.path
        try FileManager.default.createDirectory(atPath: caDirectory, withIntermediateDirectories: true)
        let ext = directory.write("ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Swiftlet Test CA",
                "-keyout", d + "/ca.key", "-out", caDirectory + "/ca.pem",
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out",
                d + "/server.csr",
            ],
            [
                "x509", "-req", "-in", d + "/server.csr", "-CA", caDirectory + "/ca.pem", "-CAkey", d + "/ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", certificate,
            ],
            ["rehash", caDirectory],
        ]
        for args in steps {
            let r = try runProgram("/usr/bin/openssl", args)
            guard r.status == 0 else { throw TestFailure("openssl \(args[0]) failed: \(r.stderr)") }
        }
    }
}
