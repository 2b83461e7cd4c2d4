import Foundation
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The jsonrpcs FIFO transport (Kamailio's `jsonrpcs_fifo.c`, what `kamctl` uses): a named
/// pipe the server reads JSON-RPC documents from, one after the other (each ends where its
/// outermost `{...}` closes). Each carries `"reply_name"`: the reply is written to the FIFO
/// of that name in `fifo_reply_dir`, which the client created. A document without
/// `jsonrpc: "2.0"` or `reply_name` gets no reply, as in Kamailio.
final class FIFOServer: @unchecked Sendable {
    let path: String
    let replyDirectory: String
    let pretty: Bool
    let rpcs: RPCRegistry
    private var readFD: Int32 = -1
    /// Kept open so that the pipe never reports end-of-file between clients.
    private var writeFD: Int32 = -1
    private var stopped = false
    private var thread = pthread_t()

    /// The ownership and mode the FIFO file gets.
    struct Access {
        var mode: mode_t
        var user: uid_t?
        var group: gid_t?
    }

    init(path: String, replyDirectory: String, pretty: Bool, rpcs: RPCRegistry) {
        self.path = path
        self.replyDirectory = replyDirectory.hasSuffix("/") ? replyDirectory : replyDirectory + "/"
        self.pretty = pretty
        self.rpcs = rpcs
    }

    /// Creates the FIFO (replacing a stale file), sets its mode and owner and opens it;
    /// throws with Kamailio's wording.
    func open(_ access: Access) throws(FixupError) {
        var st = stat()
        guard stat(replyDirectory, &st) == 0 else {
            throw FixupError("Directory stat for MI Fifo reply failed: \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw FixupError("fifo_reply_dir parameter is not a directory") }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        if stat(path, &st) == 0, unlink(path) < 0 {
            throw FixupError("Cannot delete old fifo (\(path)): \(String(cString: strerror(errno)))")
        }
        // Another server of the same runtime directory may replace the file meanwhile.
        var tries = 0
        while mkfifo(path, access.mode) != 0 {
            tries += 1
            guard errno == EEXIST, tries < 3, unlink(path) == 0 || errno == ENOENT else { break }
        }
        guard tries < 3, stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFIFO else {
            throw FixupError("Can't create FIFO: \(String(cString: strerror(errno))) (mode=\(access.mode))")
        }
        guard chmod(path, access.mode) == 0 else {
            throw FixupError("Can't chmod FIFO: \(String(cString: strerror(errno))) (mode=\(access.mode))")
        }
        if access.user != nil || access.group != nil {
            guard chown(path, access.user ?? uid_t.max, access.group ?? gid_t.max) == 0 else {
                throw FixupError("Failed to change the owner/group for \(path): \(String(cString: strerror(errno)))")
            }
        }
        readFD = Glibc.open(path, O_RDONLY | O_NONBLOCK)
        guard readFD >= 0 else {
            throw FixupError("Can't open fifo \(path) for reading: \(String(cString: strerror(errno)))")
        }
        writeFD = Glibc.open(path, O_WRONLY | O_NONBLOCK)
        guard writeFD >= 0 else { throw FixupError("fifo_write did not open: \(String(cString: strerror(errno)))") }
        _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) & ~O_NONBLOCK)
    }

    /// Starts the serving thread.
    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &thread, nil,
            { raw in
                let server = Unmanaged<FIFOServer>.fromOpaque(raw!).takeRetainedValue()
                server.serve()
                return nil
            }, box)
    }

    private func serve() {
        var splitter = JSONDocumentSplitter()
        var buffer = [UInt8](repeating: 0, count: 8192)
        while !stopped {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(readFD, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            for doc in splitter.feed(buffer[0..<n]) { handle(doc) }
        }
    }

    private func handle(_ doc: [UInt8]) {
        let data = Data(doc)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            Log.error("jsonrpcs", "invalid json doc [[\(String(decoding: doc, as: UTF8.self))]]")
            return
        }
        guard object["jsonrpc"] as? String == "2.0" else {
            Log.error("jsonrpcs", "missing jsonrpc field in request")
            return
        }
        guard let replyName = object["reply_name"] as? String else {
            Log.error("jsonrpcs", "missing reply_name field in request")
            return
        }
        let target = ReplyTarget(directory: replyDirectory, name: replyName, pretty: pretty)
        switch JSONRPCCodec.decode(data) {
        case .request(let request, let id):
            Log.debug("jsonrpcs", "RPC \(request.method) over FIFO")
            let pending = JSONRPCHTTPTransport.PendingID(id: id)
            rpcs.call(request) { result in
                target.send(JSONRPCCodec.encode(result, id: pending.id, pretty: target.pretty))
            }
        case .invalid(let id, let error):
            target.send(JSONRPCCodec.encode(.failure(error), id: id, pretty: pretty))
        }
    }

    /// Where a reply goes: the client's FIFO `directory/name`.
    struct ReplyTarget: Sendable {
        let directory: String
        let name: String
        let pretty: Bool

        /// Opens the reply FIFO (a few tries while the client is not reading yet, as Kamailio),
        /// checks that it is a FIFO that is neither hard- nor soft-linked, and writes `reply`.
        func send(_ reply: Data) {
            guard !name.contains("."), !name.contains("/"), !name.contains("\\") else {
                Log.error("jsonrpcs", "Forbidden reply fifo filename: \(name)")
                return
            }
            let file = directory + name
            guard file.utf8.count < 128 else {
                Log.error("jsonrpcs", "Reply fifo filename too long \(file.utf8.count)")
                return
            }
            var fd: Int32 = -1
            for attempt in 0...4 {
                fd = Glibc.open(file, O_WRONLY | O_NONBLOCK)
                if fd >= 0 || errno != ENXIO { break }
                if attempt == 4 {
                    Log.error("jsonrpcs", "no client at \(file)")
                    return
                }
                if attempt > 0 { usleep(80_000) }
            }
            guard fd >= 0 else {
                Log.error("jsonrpcs", "open error (\(file)): \(String(cString: strerror(errno)))")
                return
            }
            defer { close(fd) }
            var fst = stat()
            var lst = stat()
            guard fstat(fd, &fst) == 0, fst.st_mode & S_IFMT == S_IFIFO, fst.st_nlink <= 1, lstat(file, &lst) == 0,
                lst.st_mode & S_IFMT != S_IFLNK, lst.st_dev == fst.st_dev, lst.st_ino == fst.st_ino
            else {
                Log.error("jsonrpcs", "security: \(file) is not a fifo, or is linked")
                return
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            reply.withUnsafeBytes { buf in
                var off = 0
                while off < buf.count {
                    let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                    if n < 0, errno == EINTR { continue }
                    guard n > 0 else {
                        Log.error("jsonrpcs", "failed to write the reply to fifo: \(off) out of \(buf.count)")
                        return
                    }
                    off += n
                }
            }
        }
    }

    /// Stops serving and removes the FIFO.
    func stop() {
        guard readFD >= 0 else { return }
        stopped = true
        // Wakes the reader (a byte outside any document is skipped).
        var nl: UInt8 = 10
        _ = Glibc.write(writeFD, &nl, 1)
        pthread_join(thread, nil)
        close(readFD)
        close(writeFD)
        readFD = -1
        unlink(path)
    }
}

/// Cuts a byte stream into JSON documents as Kamailio's `jsonrpc_read_stream()`: a document
/// ends where the braces opened since its first `{` are all closed, braces inside `"..."` or
/// `'...'` strings not counting.
struct JSONDocumentSplitter {
    private var current: [UInt8] = []
    private var depth = 0
    private var quote: UInt8? = nil
    private var escaped = false

    mutating func feed(_ bytes: ArraySlice<UInt8>) -> [[UInt8]] {
        var docs: [[UInt8]] = []
        for b in bytes {
            if current.isEmpty && depth == 0 && b != UInt8(ascii: "{") { continue }
            current.append(b)
            if let q = quote {
                if escaped {
                    escaped = false
                } else if b == UInt8(ascii: "\\") {
                    escaped = true
                } else if b == q {
                    quote = nil
                }
                continue
            }
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = b
            case UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 {
                    docs.append(current)
                    current = []
                }
            default: break
            }
            if current.count > 8190 {
                Log.warning("jsonrpcs", "input data too large (\(current.count))")
                current = []
                depth = 0
                quote = nil
            }
        }
        return docs
    }
}
