#if canImport(Glibc)
    import Glibc
#endif

// swiftletctl: command-line client of the jsonrpcs datagram socket (like kamcmd/kamcli).
//
//   swiftletctl [-s socket] [-t seconds] method [param ...]
//
// Parameters that look like integers are sent as integers; prefix `s:` to force a string.
// Prints the JSON-RPC reply and exits 0 on a result, 1 on an error reply or no answer.

var socketPath = "/run/swiftlet/swiftlet_rpc.sock"
var timeoutSeconds = 5
var args = Array(CommandLine.arguments.dropFirst())

func fail(_ text: String) -> Never {
    var bytes = Array(("swiftletctl: " + text + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

while let first = args.first, first.hasPrefix("-") {
    args.removeFirst()
    switch first {
    case "-s":
        guard !args.isEmpty else { fail("-s needs a socket path") }
        socketPath = args.removeFirst()
    case "-t":
        guard let t = args.first.flatMap({ Int($0) }) else { fail("-t needs seconds") }
        args.removeFirst()
        timeoutSeconds = t
    case "-h", "--help":
        print("usage: swiftletctl [-s socket] [-t seconds] method [param ...]  (default socket \(socketPath))")
        exit(0)
    default: fail("unknown option \(first)")
    }
}
guard let method = args.first else { fail("no method given (try: swiftletctl system.listMethods)") }

func quote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        // Other control characters are not allowed raw in a JSON string.
        case _ where u.value < 0x20:
            out +=
                "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

let params = args.dropFirst().map { p -> String in
    if p.hasPrefix("s:") { return quote(String(p.dropFirst(2))) }
    if Int(p) != nil { return p }
    return quote(p)
}
let request = "{\"jsonrpc\":\"2.0\",\"method\":\(quote(method)),\"params\":[\(params.joined(separator: ","))],\"id\":1}"

func address(_ path: String) -> sockaddr_un {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { fail("socket path too long: \(path)") }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
    return addr
}

let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
guard fd >= 0 else { fail("socket: \(String(cString: strerror(errno)))") }
// Our own address, so that the server can answer.
let ownPath = "/tmp/swiftletctl.\(getpid()).sock"
unlink(ownPath)
var own = address(ownPath)
let bound = withUnsafePointer(to: &own) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
}
guard bound == 0 else { fail("bind \(ownPath): \(String(cString: strerror(errno)))") }
// A server running as another user (-u) must be able to answer.
chmod(ownPath, 0o666)
defer { unlink(ownPath) }
var server = address(socketPath)
var bytes = Array(request.utf8)
let sent = bytes.withUnsafeMutableBytes { buf in
    withUnsafePointer(to: &server) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
}
guard sent >= 0 else {
    unlink(ownPath)
    fail("cannot reach \(socketPath): \(String(cString: strerror(errno))) (is jsonrpcs loaded?)")
}
var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
guard poll(&pfd, 1, Int32(timeoutSeconds * 1000)) == 1 else {
    unlink(ownPath)
    fail("no answer from \(socketPath) within \(timeoutSeconds) s")
}
var reply = [UInt8](repeating: 0, count: 65536)
let n = recv(fd, &reply, reply.count, 0)
unlink(ownPath)
guard n > 0 else { fail("empty answer") }
let text = String(decoding: reply[0..<n], as: UTF8.self)
print(text)
exit(text.contains("\"error\"") ? 1 : 0)
