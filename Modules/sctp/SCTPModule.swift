import CSCTP
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio's sctp module: one-to-many SCTP sockets through libsctp, offered to the core as
/// its `SCTPTransportProvider`; the `sctp_*` parameters and the `sctp.options`/`sctp.info`
/// RPCs. The core loads it by itself when the configuration asks for SCTP.
final class SCTPModule: SCTPTransportProvider, @unchecked Sendable {
    /// Written by modparams before start-up, read-only afterwards.
    var options = SCTPOptions()
    let associations = SCTPAssociationCounts()
    /// The `sctp:` sockets opened, by descriptor (for `sctp.options <socket>`).
    private var sockets: [(listen: ListenAddress, fd: Int32)] = []
    private var mutex = pthread_mutex_t()

    init() { pthread_mutex_init(&mutex, nil) }

    var exports: ModuleExports {
        let e = ModuleExports(name: "sctp")
        e.parameters = SCTPOptions.fields.map { name, path in
            ModuleParameter(
                name,
                .int { (v: Int) throws(FixupError) in
                    var value = v
                    if path == \SCTPOptions.sendRetries, v > SCTPOptions.maxSendRetries {
                        Log.warning(
                            "sctp",
                            "sctp: sctp_send_retries too high (\(v)), setting it to \(SCTPOptions.maxSendRetries)")
                        value = SCTPOptions.maxSendRetries
                    }
                    self.options[keyPath: path] = value
                })
        }
        e.rpcs = SCTPRPC.commands(self)
        e.provide(self, as: SCTPTransportProvider.self)
        e.initialize = { [self] _ in
            if options.assocReuse != 0, options.assocTracking == 0 {
                Log.warning("sctp", "sctp_options: sctp_assoc_reuse needs sctp_assoc_tracking: turning it off")
                options.assocReuse = 0
            }
        }
        return e
    }

    /// The opened sockets.
    var openSockets: [(listen: ListenAddress, fd: Int32)] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return sockets
    }

    func unsupportedReason() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let size = buffer.count
        return swiftlet_sctp_check_support(&buffer, size) == 0 ? nil : Self.text(buffer)
    }

    func openSocket(_ listen: ListenAddress, addresses: [SocketAddress]) throws(SCTPTransportError) -> Int32 {
        guard let first = addresses.first else { throw SCTPTransportError("no address") }
        guard addresses.allSatisfy({ $0.isIPv6 == first.isIPv6 }) else {
            throw SCTPTransportError("the addresses of a multi-homed socket must be of one family")
        }
        let storage = addresses.map(\.storage)
        var options = options.c
        var error = [CChar](repeating: 0, count: 256)
        let size = error.count
        let fd = storage.withUnsafeBufferPointer { addrs in
            swiftlet_sctp_open(
                first.isIPv6 ? AF_INET6 : AF_INET, addrs.baseAddress, Int32(addrs.count), &options, &error, size)
        }
        guard fd >= 0 else { throw SCTPTransportError(Self.text(error)) }
        pthread_mutex_lock(&mutex)
        sockets.append((listen, fd))
        pthread_mutex_unlock(&mutex)
        return fd
    }

    /// The NUL-terminated text the C side wrote into `buffer`.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func receive(on fd: Int32, peer: inout SocketAddress) -> [UInt8]? {
        SCTPReceiver.current(maxSize: 65535).receive(on: fd, peer: &peer, counts: associations)
    }

    func send(_ bytes: [UInt8], on fd: Int32, to address: SocketAddress) -> Bool {
        let ttl = UInt32(max(0, options.sendTTL))
        var attempts = 0
        while true {
            let n = bytes.withUnsafeBytes { buf in
                address.withSockaddr { swiftlet_sctp_send(fd, buf.baseAddress, buf.count, $0, $1, ttl) }
            }
            if n >= 0 { return true }
            let reason = String(cString: strerror(errno))
            // sctp_send_retries: the stack gave up on the association (the peer restarted):
            // try again, which opens a new one.
            if attempts < options.sendRetries, errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN {
                attempts += 1
                continue
            }
            Log.error("sctp", "sctp_msg_send: sctp_sendmsg to \(address) failed: \(reason)")
            return false
        }
    }
}

/// Associations opened and closed (`sctp.info`), from the association-change notifications.
final class SCTPAssociationCounts: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var open = 0
    private var total = 0

    init() { pthread_mutex_init(&mutex, nil) }

    func changed(up: Bool) {
        pthread_mutex_lock(&mutex)
        if up {
            open += 1
            total += 1
        } else {
            open = max(0, open - 1)
        }
        pthread_mutex_unlock(&mutex)
    }

    var snapshot: (open: Int, total: Int) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return (open, total)
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "sctp") { SCTPModule().exports }
}
