import Foundation
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// An open ctl socket (Kamailio's `ctrl_socket`): bound, and listening when it is a stream.
final class ControlListener {
    let address: ControlSocketAddress
    private(set) var fd: Int32 = -1

    init(address: ControlSocketAddress) { self.address = address }

    /// Creates, binds (and for streams, listens on) the socket. A Unix socket replaces a
    /// stale file and gets `mode`, and `user`/`group` when set (-1 leaves them).
    func open(mode: mode_t, user: uid_t?, group: gid_t?) throws(FixupError) {
        let type = Int32((address.transport.isStream ? SOCK_STREAM : SOCK_DGRAM).rawValue)
        if address.transport.isUnix {
            let path = address.name
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            unlink(path)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                throw FixupError("ctl: unix socket name too long: \(path)")
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in bytes.enumerated() { raw[i] = b }
            }
            fd = socket(AF_UNIX, type, 0)
            guard fd >= 0 else { throw FixupError("ctl: cannot create socket: \(Self.lastError)") }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard rc == 0 else { throw FixupError("ctl: bind failed for \(path): \(Self.lastError)") }
            if chmod(path, mode) != 0 { throw FixupError("ctl: failed to change the permissions for \(path)") }
            if user != nil || group != nil {
                if chown(path, user ?? uid_t.max, group ?? gid_t.max) != 0 {
                    throw FixupError("ctl: failed to change the owner/group for \(path): \(Self.lastError)")
                }
            }
        } else {
            var hints = addrinfo()
            hints.ai_socktype = type
            hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
            var host = address.name
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            var list: UnsafeMutablePointer<addrinfo>? = nil
            let rc =
                host == "*"
                ? getaddrinfo(nil, String(address.port), &hints, &list)
                : getaddrinfo(host, String(address.port), &hints, &list)
            guard rc == 0, let info = list else {
                throw FixupError("ctl: bad address \(address.name): \(String(cString: gai_strerror(rc)))")
            }
            defer { freeaddrinfo(list) }
            fd = socket(info.pointee.ai_family, type, 0)
            guard fd >= 0 else { throw FixupError("ctl: cannot create socket: \(Self.lastError)") }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
                throw FixupError("ctl: bind failed for \(address.name):\(address.port): \(Self.lastError)")
            }
        }
        if address.transport.isStream, listen(fd, 128) != 0 {
            throw FixupError("ctl: listen failed for \(address.name): \(Self.lastError)")
        }
    }

    /// Closes the socket and removes a Unix socket's file.
    func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
        if address.transport.isUnix { unlink(address.name) }
    }

    static var lastError: String { String(cString: strerror(errno)) }
}
