import Foundation
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The jsonrpcs datagram transport: a Unix datagram socket; each datagram is one JSON-RPC
/// request, answered to the sender's address (what `kamcli` and `swiftletctl` use).
final class DatagramServer: @unchecked Sendable {
    let path: String
    let mode: mode_t
    let pretty: Bool
    /// The commands it serves (the core context's registry).
    let rpcs: RPCRegistry
    private var fd: Int32 = -1
    private var stopped = false
    private var thread = pthread_t()

    init(path: String, mode: mode_t, pretty: Bool, rpcs: RPCRegistry) {
        self.rpcs = rpcs
        self.path = path
        self.mode = mode
        self.pretty = pretty
    }

    /// Creates and binds the socket (removing a stale one); throws with the reason.
    func open() throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw FixupError("cannot create the RPC socket: \(String(cString: strerror(errno)))") }
        var addr = try Self.address(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            throw FixupError("cannot bind the RPC socket \(path): \(String(cString: strerror(errno)))")
        }
        chmod(path, mode)
        var timeout = timeval(tv_sec: 0, tv_usec: 500_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    static func address(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw FixupError("RPC socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return addr
    }

    /// Starts the serving thread.
    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &thread, nil,
            { raw in
                let server = Unmanaged<DatagramServer>.fromOpaque(raw!).takeRetainedValue()
                server.serve()
                return nil
            }, box)
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !stopped {
            var from = sockaddr_un()
            var len = socklen_t(MemoryLayout<sockaddr_un>.size)
            let n = buffer.withUnsafeMutableBytes { buf in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, buf.baseAddress, buf.count, 0, $0, &len)
                    }
                }
            }
            guard n > 0 else { continue }
            let peer = Peer(address: from, length: len)
            switch JSONRPCCodec.decode(Data(buffer[0..<n])) {
            case .request(let request, let id):
                Log.debug("jsonrpcs", "RPC \(request.method)")
                // A command may answer later, from another thread (tm.t_uac_wait): the socket
                // goes on serving meanwhile.
                let pending = Pending(id: id, peer: peer, pretty: pretty)
                rpcs.call(request) { [self] result in
                    send(JSONRPCCodec.encode(result, id: pending.id, pretty: pending.pretty), to: pending.peer)
                }
            case .invalid(let id, let error):
                send(JSONRPCCodec.encode(.failure(error), id: id, pretty: pretty), to: peer)
            }
        }
    }

    /// The address a request came from, kept for a reply sent later.
    struct Peer: @unchecked Sendable {
        var address: sockaddr_un
        let length: socklen_t
    }

    /// What a reply sent later needs: the request's id (a JSON value) and where it goes.
    struct Pending: @unchecked Sendable {
        let id: Any?
        let peer: Peer
        let pretty: Bool
    }

    /// Sends a reply datagram (from any thread).
    private func send(_ reply: Data, to peer: Peer) {
        var to = peer.address
        let sent = reply.withUnsafeBytes { buf in
            withUnsafePointer(to: &to) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buf.baseAddress, buf.count, 0, $0, peer.length)
                }
            }
        }
        if sent < 0 { Log.error("jsonrpcs", "cannot send the RPC reply: \(String(cString: strerror(errno)))") }
    }

    /// Stops serving and removes the socket file.
    func stop() {
        stopped = true
        if fd >= 0 {
            pthread_join(thread, nil)
            close(fd)
            unlink(path)
        }
    }
}
