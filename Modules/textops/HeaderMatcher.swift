import SwiftletSDK

/// A header name given to a textops function, resolved at start-up as Kamailio's
/// `hname_fixup` does: a name the SIP parser knows (long or compact form) matches every
/// header of that kind (`remove_hf("Call-ID")` also removes `i:`); any other name matches
/// headers of the same name, case-insensitively.
struct HeaderMatcher {
    let kind: HeaderName
    let lowercased: [UInt8]
    let text: String

    init(_ name: String) {
        text = name
        lowercased = name.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        // Kamailio has no compact form `n` (Identity-Info).
        kind = lowercased == [UInt8(ascii: "n")] ? .other : HeaderName(name: name)
    }

    /// The fixup of a header name argument (a constant; an empty one is refused).
    init(argument: ScriptArgument) throws(FixupError) {
        let name = try argument.constantString()
        guard !name.isEmpty else { throw FixupError("empty header name parameter", at: argument.location) }
        self.init(name)
    }

    func matches(_ h: HeaderField, in b: [UInt8]) -> Bool {
        if kind != .other { return h.name == kind }
        guard h.nameRange.count == lowercased.count else { return false }
        var i = 0
        for p in h.nameRange {
            var c = b[p]
            if c >= 65 && c <= 90 { c += 32 }
            if c != lowercased[i] { return false }
            i += 1
        }
        return true
    }

    /// The matching header fields of `msg`, in order.
    func fields(_ msg: SIPMessage) -> [HeaderField] { msg.headers.filter { matches($0, in: msg.buffer) } }
}
