import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A DNS server for tests: a UDP responder on 127.0.0.1 at a free port answering A, AAAA,
/// SRV and NAPTR queries from a table built by hand (names are answered uncompressed).
/// Unknown names get NXDOMAIN; a known name without records of the asked type an empty
/// NOERROR answer. It counts the queries per name and type.
final class FakeDNSServer: @unchecked Sendable {
    enum Record {
        case a(String)
        case aaaa(String)
        case srv(priority: Int, weight: Int, port: Int, target: String)
        case naptr(order: Int, preference: Int, flags: String, services: String, regexp: String, replacement: String)

        var type: UInt16 {
            switch self {
            case .a: 1
            case .aaaa: 28
            case .srv: 33
            case .naptr: 35
            }
        }
    }

    let fd: Int32
    let port: Int
    private let table: [String: [Record]]
    private let counts = Mutex<[String: Int]>([:])
    private let stopped = Mutex(false)
    private var thread = pthread_t()

    init(_ records: [String: [Record]]) {
        table = Dictionary(uniqueKeysWithValues: records.map { ($0.key.lowercased(), $0.value) })
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                _ = bind(fd, sp, len)
                _ = getsockname(fd, sp, &len)
            }
        }
        port = Int(UInt16(bigEndian: a.sin_port))
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &thread, nil,
            { raw in
                let server = Unmanaged<FakeDNSServer>.fromOpaque(raw!).takeRetainedValue()
                server.serve()
                return nil
            }, box)
    }

    /// `127.0.0.1:port`, the value of SWIFTLET_DNS_SERVER.
    var address: String { "127.0.0.1:\(port)" }

    /// How many queries for `name` of `type` (1 A, 28 AAAA, 33 SRV, 35 NAPTR) arrived.
    func queries(_ name: String, _ type: UInt16) -> Int { counts.withLock { $0["\(name.lowercased())/\(type)"] ?? 0 } }

    /// Stops answering and closes the socket.
    func stop() {
        guard
            !stopped.withLock({
                let was = $0; $0 = true; return was
            })
        else { return }
        pthread_join(thread, nil)
        close(fd)
    }

    deinit { stop() }

    private func serve() {
        var buf = [UInt8](repeating: 0, count: 1500)
        while !stopped.withLock({ $0 }) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) == 1 else { continue }
            var from = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &len) }
            }
            guard n > 12, let reply = answer(Array(buf[0..<n])) else { continue }
            _ = reply.withUnsafeBytes { r in
                withUnsafePointer(to: &from) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, r.baseAddress, r.count, 0, $0, len)
                    }
                }
            }
        }
    }

    /// The response to one query message.
    func answer(_ q: [UInt8]) -> [UInt8]? {
        var i = 12
        var labels: [String] = []
        while i < q.count, q[i] != 0 {
            let l = Int(q[i])
            guard i + 1 + l <= q.count else { return nil }
            labels.append(String(decoding: q[(i + 1)..<(i + 1 + l)], as: UTF8.self))
            i += 1 + l
        }
        guard i + 5 <= q.count else { return nil }
        let question = Array(q[12..<(i + 5)])
        let type = UInt16(q[i + 1]) << 8 | UInt16(q[i + 2])
        let name = labels.joined(separator: ".").lowercased()
        counts.withLock { $0["\(name)/\(type)", default: 0] += 1 }
        let known = table[name]
        let records = (known ?? []).filter { $0.type == type }
        var out: [UInt8] = [q[0], q[1], 0x84 | (q[2] & 0x01), known == nil ? 0x83 : 0x80]
        out += [0, 1] + be16(records.count) + [0, 0, 0, 0]
        out += question
        for r in records {
            out += encodeName(name) + be16(Int(type)) + [0, 1] + [0, 0, 0, 60]
            let rdata = FakeDNSServer.rdata(r)
            out += be16(rdata.count) + rdata
        }
        return out
    }

    private static func rdata(_ r: Record) -> [UInt8] {
        switch r {
        case .a(let ip):
            var a = in_addr()
            inet_pton(AF_INET, ip, &a)
            return withUnsafeBytes(of: a) { Array($0) }
        case .aaaa(let ip):
            var a = in6_addr()
            inet_pton(AF_INET6, ip, &a)
            return withUnsafeBytes(of: a) { Array($0) }
        case .srv(let p, let w, let port, let target):
            return be16(p) + be16(w) + be16(port) + encodeName(target)
        case .naptr(let o, let pref, let flags, let services, let regexp, let repl):
            return be16(o) + be16(pref) + charString(flags) + charString(services) + charString(regexp)
                + encodeName(repl)
        }
    }

    private static func charString(_ s: String) -> [UInt8] { [UInt8(s.utf8.count)] + Array(s.utf8) }
}

private func be16(_ v: Int) -> [UInt8] { [UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }

private func encodeName(_ name: String) -> [UInt8] {
    var out: [UInt8] = []
    for label in name.split(separator: ".") where !label.isEmpty {
        out.append(UInt8(label.utf8.count))
        out += Array(label.utf8)
    }
    return out + [0]
}
