import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// swiftletctl: command-line client of jsonrpcs' datagram socket or FIFO (like kamcmd/kamcli).
//
//   swiftletctl [-s socket | -Y rundir | -f fifo] [-t seconds] [-o json|text] method [param ...]
//
// Parameters that look like integers are sent as integers; prefix `s:` to force a string.
// Prints the JSON-RPC reply (or, with `-o text`, the result as kamcmd prints it) and exits 0
// on a result, 1 on an error reply or no answer.

/// The release this client belongs to; a test checks it against `swiftlet -V`.
let version = "0.1.0"
var socketPath = "/run/swiftlet/swiftlet_rpc.sock"
/// `-f`: jsonrpcs' FIFO instead of the datagram socket.
var fifoPath: String? = nil
var timeoutSeconds = 5
var textOutput = false
let usage = """
    Usage: swiftletctl [options] method [param ...]
    Calls an RPC command of a running swiftlet through jsonrpcs' datagram socket.
    Options:
        -s socket    the socket (default /run/swiftlet/swiftlet_rpc.sock)
        -Y dir       the server's runtime directory (its -Y): the socket is dir/swiftlet_rpc.sock
        -f fifo      use jsonrpcs' FIFO transport (what kamctl uses) instead of the socket;
                     the reply comes through a FIFO created in /tmp
        -t seconds   how long to wait for the answer (default 5)
        -o format    json (the JSON-RPC reply, the default) or text (the result, as kamcmd prints)
        -V           print the version and exit
        -h           print this text and exit
    Parameters that look like integers are sent as integers; prefix s: to send one as a string.
    Exit status: 0 for a result, 1 for an error reply or no answer.
    """
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
    case "-f":
        guard !args.isEmpty else { fail("-f needs a FIFO path") }
        fifoPath = args.removeFirst()
    case "-t":
        guard let t = args.first.flatMap({ Int($0) }) else { fail("-t needs seconds") }
        args.removeFirst()
        timeoutSeconds = t
    case "-Y":
        guard !args.isEmpty else { fail("-Y needs a directory") }
        socketPath = args.removeFirst() + "/swiftlet_rpc.sock"
    case "-o":
        guard let f = args.first, f == "json" || f == "text" else { fail("-o takes json or text") }
        args.removeFirst()
        textOutput = f == "text"
    case "-V", "-v", "--version":
        print("swiftletctl \(version) (JSON-RPC client of swiftlet's jsonrpcs)")
        exit(0)
    case "-h", "--help":
        print(usage)
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

if let fifoPath {
    let reply = fifoExchange(request: request, fifo: fifoPath, timeout: timeoutSeconds)
    printReply(reply)
}

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
printReply(Array(reply[0..<n]))

/// Prints a reply as asked (`-o`) and exits: 0 for a result, 1 for an error.
@MainActor func printReply(_ reply: [UInt8]) -> Never {
    let text = String(decoding: reply, as: UTF8.self)
    guard textOutput else {
        print(text)
        exit(text.contains("\"error\"") ? 1 : 0)
    }
    guard let json = try? JSONSerialization.jsonObject(with: Data(reply), options: [.fragmentsAllowed]),
        let object = json as? [String: Any]
    else { fail("not a JSON-RPC reply: \(text)") }
    if let error = object["error"] as? [String: Any] {
        print("error: \(error["code"] ?? "") - \(error["message"] ?? "")")
        exit(1)
    }
    print(TextResult.render(object["result"] ?? NSNull()), terminator: "")
    exit(0)
}
