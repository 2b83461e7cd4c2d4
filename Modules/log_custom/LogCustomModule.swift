import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `log_custom` module (Kamailio's `modules/log_custom`): with the core parameters
/// `log_engine_type="udp"` and `log_engine_data="host[:port]"` every log line that would go
/// to syslog is sent in a UDP packet to that address instead, and `log_udp(text)` sends text
/// there from the script.
final class LogCustomModule: @unchecked Sendable {
    /// The log server (nil: no `udp` engine configured; then `log_udp` does nothing).
    private var destination: SocketAddress?
    /// The socket packets leave from, set up in `child_init` of the initial rank.
    private var sender: UDPLogSender?

    var exports: ModuleExports {
        let e = ModuleExports(name: "log_custom")
        e.functions = [
            ScriptFunction("log_udp", parameters: 1, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                let text = try args[0].stringFormat()
                return { ctx in
                    guard let sender = self.sender else { return 1 }
                    let sent = sender.send(Array(text.render(ctx).utf8))
                    // Kamailio 5.6 returns udp_send's result: the bytes sent (1 for none).
                    return sent == 0 ? 1 : sent
                }
            }
        ]
        e.initialize = { context in
            // Kamailio resolves the destination in mod_register.
            guard LogEngine.type?.lowercased() == "udp", let data = LogEngine.data else { return }
            self.destination = try Self.address(data)
            self.core = context.core
        }
        e.childInitialize = { rank in
            // Kamailio: child_init(PROC_INIT); the embedded core calls the first worker only.
            guard self.sender == nil, let destination = self.destination, let core = self.core else { return }
            let socket = core.transport?.sendSocket(for: .udp, to: destination, received: nil)
            let sender = try UDPLogSender(destination: destination, socket: socket)
            self.sender = sender
            let pid = getpid()
            LogEngine.setWriter { _, line in
                if sender.send(Array("(\(pid)) \(line)".utf8)) < 0 {
                    // As Kamailio: a failed send is reported on stderr, never logged again.
                    let code = errno
                    let text =
                        "error: previous udp send returned failure (-1:\(code):\(String(cString: strerror(code))))\n"
                    _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
                }
            }
        }
        e.destroy = { if self.sender != nil { LogEngine.setWriter(nil) } }
        return e
    }

    private var core: CoreContext?

    /// `host[:port]` of `log_engine_data` (an IPv6 address in brackets; port 5060 by default).
    static func address(_ data: String) throws -> SocketAddress {
        var host = Substring(data)
        var port = 5060
        let afterBracket = host.firstIndex(of: "]").map { host.index(after: $0) } ?? host.startIndex
        if let colon = host[afterBracket...].firstIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), p > 0, p < 65536 else {
                throw RuntimeError("log_custom: invalid port in log_engine_data '\(data)'")
            }
            port = p
            host = host[..<colon]
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        do {
            return try SocketAddress(host: String(host), port: port)
        } catch {
            throw RuntimeError("log_custom: failed to resolve [\(host)]")
        }
    }
}

/// Sends datagrams to the log server: from the SIP listening socket that fits the
/// destination (as Kamailio's `udp_send` on its send socket), or from a socket of its own
/// when the core has no real sockets (the embedded core).
final class UDPLogSender: Sendable {
    let destination: SocketAddress
    let fd: Int32
    let ownsSocket: Bool

    init(destination: SocketAddress, socket: ListeningSocket?) throws {
        self.destination = destination
        if let socket, socket.fd >= 0 {
            fd = socket.fd
            ownsSocket = false
        } else {
            fd = Glibc.socket(destination.family, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { throw RuntimeError("log_custom: failed to get send socket") }
            ownsSocket = true
        }
    }

    deinit { if ownsSocket { close(fd) } }

    /// Sends `bytes` in one datagram: the bytes sent, or -1.
    func send(_ bytes: [UInt8]) -> Int {
        let n = bytes.withUnsafeBytes { buf in
            destination.withSockaddr { sa, len in sendto(fd, buf.baseAddress, buf.count, 0, sa, len) }
        }
        return n < 0 ? -1 : n
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "log_custom") { LogCustomModule().exports }
}
