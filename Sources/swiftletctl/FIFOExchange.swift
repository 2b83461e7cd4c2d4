import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One request over jsonrpcs' FIFO transport, as kamctl's `rpc_cmd` does it: a reply FIFO
/// `/tmp/swiftletctl_<pid>` is created, its name goes in the request as `reply_name`, the
/// request is written to the server's FIFO and the reply read from ours (until the server
/// closes it). Exits through `fail` when the FIFO is missing or nothing comes back in time.
func fifoExchange(request: String, fifo: String, timeout: Int) -> [UInt8] {
    let name = "swiftletctl_\(getpid())"
    let replyPath = "/tmp/" + name
    unlink(replyPath)
    guard mkfifo(replyPath, 0o666) == 0 else { fail("cannot create the reply FIFO \(replyPath)") }
    chmod(replyPath, 0o666)
    defer { unlink(replyPath) }
    // Opened before the request goes out, so that the server finds a reader at once.
    let replyFD = open(replyPath, O_RDONLY | O_NONBLOCK)
    guard replyFD >= 0 else { fail("cannot open \(replyPath): \(String(cString: strerror(errno)))") }
    defer { close(replyFD) }
    let withReplyName = String(request.dropLast()) + ",\"reply_name\":\"\(name)\"}\n"
    let serverFD = open(fifo, O_WRONLY | O_NONBLOCK)
    guard serverFD >= 0 else {
        unlink(replyPath)
        fail("cannot open \(fifo): \(String(cString: strerror(errno))) (is jsonrpcs' FIFO transport on?)")
    }
    var bytes = Array(withReplyName.utf8)
    let written = bytes.withUnsafeMutableBytes { write(serverFD, $0.baseAddress, $0.count) }
    close(serverFD)
    guard written == bytes.count else {
        unlink(replyPath)
        fail("cannot write to \(fifo)")
    }
    var reply: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    let deadline = Date().addingTimeInterval(TimeInterval(timeout))
    var started = false
    while Date() < deadline {
        var pfd = pollfd(fd: replyFD, events: Int16(POLLIN), revents: 0)
        let left = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
        guard poll(&pfd, 1, left) == 1 else { break }
        let n = read(replyFD, &buffer, buffer.count)
        if n > 0 {
            reply += buffer[0..<n]
            started = true
        } else if n == 0 {
            // No writer: before the server opened it, wait; after, the reply is complete.
            if started { return reply }
            usleep(10_000)
        } else if errno != EAGAIN && errno != EINTR {
            break
        }
    }
    guard !reply.isEmpty else {
        unlink(replyPath)
        fail("no answer through \(fifo) within \(timeout) s")
    }
    return reply
}
