/// The SCTP transport hook: the `sctp` module (which alone links libsctp) opens, reads and
/// writes the one-to-many `SOCK_SEQPACKET` sockets of `sctp:` listeners; the core runs the
/// receive threads and the send path on top. The core loads the module only when the
/// configuration asks for SCTP (`listen=sctp:...`, `enable_sctp`).

/// Why an SCTP socket could not be opened or used; the core stops start-up with `message`.
public struct SCTPTransportError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What the sctp module offers for `sctp:` sockets (`exports.provide(provider, as:
/// SCTPTransportProvider.self)`).
public protocol SCTPTransportProvider: AnyObject, Sendable {
    /// Nil when this kernel opens SCTP sockets (Kamailio's `sctp_check_support`), else the
    /// reason, such as `socket(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP): Socket type not supported`.
    func unsupportedReason() -> String?
    /// A one-to-many socket bound to every address of `addresses` (more than one:
    /// multi-homed, with `sctp_bindx`), with the module's socket options applied and a
    /// receive timeout so that receivers notice shutdown.
    func openSocket(_ listen: ListenAddress, addresses: [SocketAddress]) throws(SCTPTransportError) -> Int32
    /// Waits for the next complete SIP message on `fd` (association notifications are
    /// consumed, a message read in parts is joined). Returns nil when nothing arrived before
    /// the receive timeout or on an error (logged); `peer` is the sender.
    func receive(on fd: Int32, peer: inout SocketAddress) -> [UInt8]?
    /// Sends `bytes` as one message to `address` from `fd` (the kernel opens an association
    /// when there is none). False (logged) when it could not be sent.
    func send(_ bytes: [UInt8], on fd: Int32, to address: SocketAddress) -> Bool
}

/// Joins the parts of SCTP messages read with `recvmsg` (Kamailio's sctp receive loop):
/// a message larger than the read buffer comes in several reads, the last one flagged
/// `MSG_EOR`; notifications (`MSG_NOTIFICATION`) are not SIP. Parts of different
/// associations are kept apart. One assembler per receiving thread.
public struct SCTPMessageAssembler {
    /// Longest message accepted (Kamailio's BUF_SIZE is 65535); a longer one is dropped.
    public let maxSize: Int
    private var partial: [UInt32: [UInt8]] = [:]
    /// Associations whose current message is being dropped (too large) up to its end.
    private var dropping: Set<UInt32> = []

    public init(maxSize: Int = 65535) { self.maxSize = maxSize }

    /// What one read gave.
    public enum Result: Equatable {
        /// A whole SIP message.
        case message([UInt8])
        /// A part; more reads follow.
        case incomplete
        /// A notification (association change, ...), not a message.
        case notification
        /// The message grew past `maxSize` and was dropped.
        case tooLarge
    }

    /// Feeds one read of association `association`: `endOfRecord` is `MSG_EOR`,
    /// `notification` is `MSG_NOTIFICATION`.
    public mutating func feed(
        _ bytes: UnsafeRawBufferPointer, association: UInt32, endOfRecord: Bool, notification: Bool
    ) -> Result {
        // A notification's parts belong to the notification, not to the data being joined.
        if notification { return .notification }
        if dropping.contains(association) {
            if endOfRecord { dropping.remove(association) }
            return .tooLarge
        }
        if endOfRecord, partial[association] == nil, bytes.count <= maxSize { return .message(Array(bytes)) }
        var part = partial[association] ?? []
        if part.count + bytes.count > maxSize {
            // Drop what came so far, and the rest of this message up to its end.
            partial[association] = nil
            if !endOfRecord { dropping.insert(association) }
            return .tooLarge
        }
        part.append(contentsOf: bytes)
        if endOfRecord {
            partial[association] = nil
            return .message(part)
        }
        partial[association] = part
        return .incomplete
    }

    /// Forgets the parts of an association that ended (`SCTP_COMM_LOST`, `SCTP_SHUTDOWN_COMP`).
    public mutating func forget(association: UInt32) {
        partial[association] = nil
        dropping.remove(association)
    }

    /// Associations with a message in parts.
    public var pendingAssociations: Int { partial.count }
}
