import Glibc
import SwiftletSDK
import Synchronization

/// Sends ng commands over UDP (Kamailio's `send_rtpp_command`): the request is a cookie
/// (`serverid_pid_seq `) and the bencoded dictionary; the reply carries the same cookie.
/// Each attempt waits `timeoutMs` for the reply, up to `retries` attempts.
struct NGClient: Sendable {
    let timeoutMs: Int
    let retries: Int
    static let sequence = Atomic<UInt32>(0)

    /// The next cookie, with its trailing space.
    static func cookie() -> String {
        let seq = sequence.add(1, ordering: .relaxed).oldValue
        return "\(0)_\(getpid())_\(seq) "
    }

    /// The bencoded reply of `node`, or nil when it did not answer.
    func send(_ command: Bencode, to node: EngineNode) -> ArraySlice<UInt8>? {
        guard let address = Self.resolve(node) else {
            Log.error("rtpengine", "can't resolve RTPEngine <\(node.url)>")
            return nil
        }
        let fd = socket(node.ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else {
            Log.error("rtpengine", "can't create socket")
            return nil
        }
        defer { close(fd) }
        let connected = address.withSockaddr { connect(fd, $0, $1) }
        guard connected == 0 else {
            Log.error("rtpengine", "can't connect to a RTPEngine instance")
            return nil
        }
        let cookie = Array(Self.cookie().utf8)
        let request = cookie + command.encoded
        let name = command["command"]?.stringValue ?? ""
        var buffer = [UInt8](repeating: 0, count: 0x40000)
        for _ in 0..<max(1, retries) {
            let sent = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else {
                Log.error("rtpengine", "can't send command \"\(name)\" to RTPEngine <\(node.url)>")
                return nil
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while poll(&pfd, 1, Int32(timeoutMs)) == 1, pfd.revents & Int16(POLLIN) != 0 {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else {
                    Log.error("rtpengine", "can't read reply for command \"\(name)\" from RTPEngine <\(node.url)>")
                    return nil
                }
                let prefix = cookie.count - 1
                if n >= prefix, buffer[0..<prefix].elementsEqual(cookie[0..<prefix]) {
                    let start = n > prefix ? prefix + 1 : prefix
                    return buffer[start..<n]
                }
                pfd.revents = 0
            }
        }
        Log.error("rtpengine", "timeout waiting reply for command \"\(name)\" from RTPEngine <\(node.url)>")
        return nil
    }

    /// The node's address (`host:port`, `[v6]:port`; no port: 22222).
    static func resolve(_ node: EngineNode) -> SocketAddress? {
        var host = Substring(node.address)
        var port = 22222
        if let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") {
            if let p = Int(host[host.index(after: colon)...]) { port = p }
            host = host[..<colon]
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        if let a = SocketAddress(numericHost: String(host), port: port) { return a }
        return try? SocketAddress(host: String(host), port: port)
    }
}
