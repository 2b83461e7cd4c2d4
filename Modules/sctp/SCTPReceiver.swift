import CSCTP
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A receiver thread's read buffer and message assembler (one per thread, found through a
/// thread-specific key), as each of Kamailio's sctp receiver processes has its own.
final class SCTPReceiver {
    private var buffer: [UInt8]
    private var assembler: SCTPMessageAssembler

    init(maxSize: Int) {
        buffer = [UInt8](repeating: 0, count: maxSize)
        assembler = SCTPMessageAssembler(maxSize: maxSize)
    }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { raw in
            if let raw { Unmanaged<SCTPReceiver>.fromOpaque(raw).release() }
        }
        return k
    }()

    /// This thread's receiver.
    static func current(maxSize: Int) -> SCTPReceiver {
        if let raw = pthread_getspecific(key) { return Unmanaged<SCTPReceiver>.fromOpaque(raw).takeUnretainedValue() }
        let r = SCTPReceiver(maxSize: maxSize)
        pthread_setspecific(key, Unmanaged.passRetained(r).toOpaque())
        return r
    }

    /// Reads until a whole message arrived (nil on a timeout or an error).
    func receive(on fd: Int32, peer: inout SocketAddress, counts: SCTPAssociationCounts) -> [UInt8]? {
        while true {
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            var association: UInt32 = 0
            var eor: Int32 = 0
            var notification: Int32 = 0
            let n = buffer.withUnsafeMutableBytes { buf in
                swiftlet_sctp_recv(
                    fd, buf.baseAddress, buf.count, &from, &fromLength, &association, &eor, &notification)
            }
            if n < 0 {
                let e = errno
                if e != EAGAIN, e != EWOULDBLOCK, e != EINTR {
                    Log.error("sctp", "sctp_rcv_loop: sctp_recvmsg on \(fd) failed: \(String(cString: strerror(e)))")
                }
                return nil
            }
            if notification != 0 { noticeAssociationChange(n: n, counts: counts, association: association) }
            let result = buffer.withUnsafeBytes { buf in
                assembler.feed(
                    UnsafeRawBufferPointer(rebasing: buf[0..<n]), association: association, endOfRecord: eor != 0,
                    notification: notification != 0)
            }
            switch result {
            case .message(let bytes):
                peer.storage = from
                peer.length = fromLength
                return bytes
            case .tooLarge:
                Log.error("sctp", "sctp_rcv_loop: message from association \(association) too big, dropped")
            case .incomplete, .notification:
                continue
            }
        }
    }

    /// An association came up or went down (`SCTP_ASSOC_CHANGE`).
    private func noticeAssociationChange(n: Int, counts: SCTPAssociationCounts, association: UInt32) {
        guard n >= 8 else { return }
        // struct sctp_assoc_change: sn_type u16, flags u16, length u32, state u16.
        let type = buffer.withUnsafeBytes { $0.load(fromByteOffset: 0, as: UInt16.self) }
        guard type == UInt16(SCTP_ASSOC_CHANGE.rawValue) else { return }
        let state = buffer.withUnsafeBytes { $0.load(fromByteOffset: 8, as: UInt16.self) }
        switch UInt32(state) {
        case SCTP_COMM_UP.rawValue, SCTP_RESTART.rawValue: counts.changed(up: true)
        case SCTP_COMM_LOST.rawValue, SCTP_SHUTDOWN_COMP.rawValue, SCTP_CANT_STR_ASSOC.rawValue:
            counts.changed(up: false)
            assembler.forget(association: association)
        default: break
        }
    }
}
