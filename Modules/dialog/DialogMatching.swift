import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Call-ID, From tag and To tag of a message as ranges of its buffer (Kamailio's
/// `pre_match_parse`): in-dialog requests are matched against a dialog without making
/// strings of them.
struct MessageIdentity {
    let buffer: [UInt8]
    /// The Call-ID without surrounding blanks.
    let callID: Range<Int>
    let fromTag: Range<Int>
    /// Empty when the To header has no tag.
    let toTag: Range<Int>

    /// nil without a Call-ID or a From tag. `toTag` is the To tag when the caller has it
    /// already (`MessageContext.toTagRange`).
    init?(_ m: SIPMessage, toTag: Range<Int>?? = .none) {
        let b = m.buffer
        guard let callID = Self.callID(m),
            let from = m.firstHeader(.from), let fromTag = NameAddr.tag(in: b, from.valueRange), !fromTag.isEmpty
        else { return nil }
        let to: Range<Int>?
        switch toTag {
        case .some(let known): to = known
        case .none: to = m.firstHeader(.to).flatMap { NameAddr.tag(in: b, $0.valueRange) }
        }
        self.buffer = b
        self.callID = callID
        self.fromTag = fromTag
        self.toTag = to ?? 0..<0
    }

    /// The identity of the message in `ctx` (its To tag looked up once per message).
    init?(_ ctx: MessageContext) { self.init(ctx.message, toTag: .some(ctx.toTagRange)) }

    /// The Call-ID's range without surrounding blanks.
    static func callID(_ m: SIPMessage) -> Range<Int>? {
        let b = m.buffer
        guard var callID = m.callIDRange else { return nil }
        while !callID.isEmpty, isBlank(b[callID.lowerBound]) { callID = callID.lowerBound + 1..<callID.upperBound }
        while !callID.isEmpty, isBlank(b[callID.upperBound - 1]) { callID = callID.lowerBound..<callID.upperBound - 1 }
        return callID
    }

    private static func isBlank(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }

    /// The three values as strings (to store or to search by).
    var strings: (callID: String, fromTag: String, toTag: String) {
        (buffer.dialogText(callID), buffer.dialogText(fromTag), buffer.dialogText(toTag))
    }

    /// `text` has the bytes of `range`.
    func equals(_ text: String, _ range: Range<Int>) -> Bool {
        guard text.utf8.count == range.count else { return false }
        if range.isEmpty { return true }
        var text = text
        return text.withUTF8 { t in
            buffer.withUnsafeBufferPointer { b in
                memcmp(t.baseAddress!, b.baseAddress! + range.lowerBound, range.count) == 0
            }
        }
    }

    /// `match_dialog`: the direction of the request when its Call-ID and tags are the
    /// dialog's, nil otherwise. Lock held.
    func direction(in d: Dialog) -> DialogDirection? {
        guard equals(d.callID, callID) else { return nil }
        if equals(d.tag[0], fromTag) && equals(d.tag[1], toTag) { return .downstream }
        if equals(d.tag[0], toTag) && equals(d.tag[1], fromTag) { return .upstream }
        return nil
    }
}

extension DialogModule {
    /// The `entry.id` value of the `did` parameter (rr's parameters of our Route,
    /// `a=1;b=2` without a leading `;`): nil when absent, `.failure` with the value when
    /// malformed.
    static func routeDialogID(
        _ name: String, in parameters: String
    ) -> Result<(value: String, entry: UInt32, id: UInt32), DialogIDError>? {
        guard let value = parameter(name, in: parameters) else { return nil }
        guard let dot = value.utf8.firstIndex(of: UInt8(ascii: ".")),
            let entry = ReverseHex.decode(value[..<dot]),
            let id = ReverseHex.decode(value[value.utf8.index(after: dot)...])
        else { return .failure(DialogIDError(value: value)) }
        return .success((value, entry, id))
    }

    /// The value of `name` in `a=1;b=2` (no leading `;`).
    static func parameter(_ name: String, in parameters: String) -> String? {
        // Byte by byte (this runs for every in-dialog request): the fields between `;`,
        // each `name=value` with blanks around name and value ignored.
        var parameters = parameters
        var name = name
        return parameters.withUTF8 { p in
            name.withUTF8 { wanted in
                func isBlank(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }
                func trimmed(_ lo: Int, _ hi: Int) -> Range<Int> {
                    var lo = lo
                    var hi = hi
                    while lo < hi, isBlank(p[lo]) { lo += 1 }
                    while hi > lo, isBlank(p[hi - 1]) { hi -= 1 }
                    return lo..<hi
                }
                var start = 0
                while start < p.count {
                    var end = start
                    while end < p.count, p[end] != UInt8(ascii: ";") { end += 1 }
                    if end > start {
                        var eq = start
                        while eq < end, p[eq] != UInt8(ascii: "=") { eq += 1 }
                        // A field that starts with `=` names what follows it (as splitting on
                        // `=` without empty pieces did).
                        let nameRange = eq == start ? trimmed(start + 1, end) : trimmed(start, eq)
                        if p[nameRange].elementsEqual(wanted) {
                            guard eq > start, eq < end else { return "" }
                            return String(
                                decoding: UnsafeBufferPointer(rebasing: p[trimmed(eq + 1, end)]), as: UTF8.self)
                        }
                    }
                    start = end + 1
                }
                return nil
            }
        }
    }
}

/// A `did` value that is not `entry.id` in reversed hex.
struct DialogIDError: Error {
    let value: String
}
