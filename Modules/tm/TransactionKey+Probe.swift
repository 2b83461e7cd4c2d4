import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

extension TransactionKey {
    /// An RFC 3261 key's parts (Kamailio's matching on the top Via's branch and sent-by and
    /// the method class): ranges of a request's bytes, the port (5060 when the Via has none)
    /// and the class.
    struct Parts {
        let branch: Range<Int>
        let host: Range<Int>
        let port: Int
        let methodClass: String
    }

    /// How a transaction keeps its key: the text of a key other than RFC 3261's (RFC 2543
    /// fields, a local request's), else the parts of an RFC 3261 key, in the transaction's
    /// copy of its request (`clone`). A struct of plain fields, not an enum: copied with a
    /// retain per reference and no outlined enum copy.
    struct Stored {
        let text: String?
        /// Empty for a text key.
        let parts: Parts

        init(text: String) {
            self.text = text
            parts = Parts(branch: 0..<0, host: 0..<0, port: 0, methodClass: "")
        }

        init(parts: Parts) {
            text = nil
            self.parts = parts
        }
    }

    /// A request's key to look up or to create a transaction with: the key, the bytes its
    /// parts are ranges of, and its hash for the table. An RFC 3261 key is matched part by
    /// part: no string is made for it.
    struct Probe {
        let stored: Stored
        /// The request's bytes, which the parts' ranges are in (empty for a text key).
        let buffer: [UInt8]
        let hash: UInt64

        /// A key given as text.
        init(text: String) {
            stored = Stored(text: text)
            buffer = []
            var t = text
            hash = t.withUTF8 { TransactionTable.HashedKey.hash($0) }
        }

        /// An RFC 3261 key whose parts are in `b`.
        init(_ b: [UInt8], parts: Parts) {
            precondition(
                parts.branch.lowerBound >= 0 && parts.branch.upperBound <= b.count, "branch outside the message")
            precondition(parts.host.lowerBound >= 0 && parts.host.upperBound <= b.count, "host outside the message")
            stored = Stored(parts: parts)
            buffer = b
            var cls = parts.methodClass
            let classHash = cls.withUTF8 { TransactionTable.HashedKey.hash($0) }
            hash = b.withUnsafeBufferPointer { u in
                // The branch's hash is uniform already; the other parts are mixed into it.
                let branch = TransactionTable.HashedKey.hash(UnsafeBufferPointer(rebasing: u[parts.branch]))
                let host = TransactionTable.HashedKey.hash(UnsafeBufferPointer(rebasing: u[parts.host]))
                return branch ^ (host &* 0x9E37_79B9_7F4A_7C15) ^ (classHash &* 0xC2B2_AE3D_27D4_EB4F)
                    ^ (UInt64(truncatingIfNeeded: parts.port) &* 0x1656_67B1_9E37_79F9)
            }
        }
    }

    /// True when key `a`, whose parts are ranges of `aBytes`, and key `b` (of `bBytes`) are
    /// the same key: the same text, or the same parts byte for byte. A text key never equals
    /// one of parts (RFC 2543 and local keys are not RFC 3261 ones).
    static func same(
        _ a: Stored, in aBytes: UnsafeRawBufferPointer, _ b: Stored, in bBytes: UnsafeRawBufferPointer
    ) -> Bool {
        if a.text != nil || b.text != nil { return a.text == b.text }
        let x = a.parts
        let y = b.parts
        guard x.port == y.port, x.branch.count == y.branch.count, x.host.count == y.host.count,
            x.methodClass == y.methodClass
        else { return false }
        @inline(__always) func equal(_ r: Range<Int>, _ s: Range<Int>) -> Bool {
            r.isEmpty || memcmp(aBytes.baseAddress! + r.lowerBound, bBytes.baseAddress! + s.lowerBound, r.count) == 0
        }
        return equal(x.branch, y.branch) && equal(x.host, y.host)
    }
}

extension Transaction {
    /// True when `probe` is this transaction's key.
    func hasKey(_ probe: TransactionKey.Probe) -> Bool {
        clone.withUnsafeBytes { mine in
            probe.buffer.withUnsafeBytes { theirs in TransactionKey.same(key, in: mine, probe.stored, in: theirs) }
        }
    }

    /// True when `other` has this transaction's key.
    func hasSameKey(as other: Transaction) -> Bool {
        clone.withUnsafeBytes { mine in
            other.clone.withUnsafeBytes { theirs in TransactionKey.same(key, in: mine, other.key, in: theirs) }
        }
    }
}
