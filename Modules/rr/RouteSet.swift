import SwiftletSDK

/// The Route header fields of a request, each parsed when first needed (Kamailio's
/// `parse_rr` on `msg->route` and the Route headers after it).
struct RouteSet {
    /// A position in the route set: the field and the value inside it.
    struct Position: Equatable {
        var field: Int
        var value: Int
    }

    let message: SIPMessage
    /// The first Route field, found without collecting the others (the usual request has one).
    private let first: HeaderField?
    /// All Route fields, collected only when the message has more than one.
    private let all: [HeaderField]?
    /// The number of Route fields.
    let fieldCount: Int
    /// The first value of the first field and the number of values in that field, once
    /// parsed (the usual field has one value: no array is made for it).
    private var firstValue: NameAddr?
    private var firstCount = 0
    /// All values of the first field, kept only when it has more than one.
    private var parsedFirst: [NameAddr]?
    /// The values of the other fields, by field index (made when a second field is parsed).
    private var parsed: [[NameAddr]?] = []

    init(_ message: SIPMessage) {
        self.message = message
        var first: HeaderField? = nil
        var count = 0
        for h in message.headers where h.name == .route {
            if first == nil { first = h }
            count += 1
        }
        self.first = first
        self.fieldCount = count
        self.all = count > 1 ? message.headers(.route) : nil
    }

    var isEmpty: Bool { fieldCount == 0 }

    /// Route field `i` (0 ..< `fieldCount`).
    func field(_ i: Int) -> HeaderField {
        if i == 0, let first { return first }
        return all![i]
    }

    /// Parses the first field (all its values, as Kamailio's `parse_rr` does; an empty or
    /// malformed one is an error) and gives its first value, keeping an array only when the
    /// field has more than one value.
    @discardableResult
    mutating func parseFirstField() throws(SIPParseError) -> NameAddr {
        if let v = firstValue { return v }
        let range = field(0).valueRange
        var head: NameAddr? = nil
        var count = 0
        var list: [NameAddr] = []
        try Self.forEachValue(message.buffer, range) { (v: NameAddr) in
            if let h = head {
                if list.isEmpty { list.append(h) }
                list.append(v)
            } else {
                head = v
            }
            count += 1
        }
        guard let head else { throw SIPParseError(.badNameAddr, at: range.lowerBound) }
        firstValue = head
        firstCount = count
        if count > 1 { parsedFirst = list }
        return head
    }

    /// The values of field `i` (an empty or malformed field is an error, as in Kamailio).
    mutating func values(_ i: Int) throws(SIPParseError) -> [NameAddr] {
        if i == 0 {
            let first = try parseFirstField()
            return parsedFirst ?? [first]
        }
        if i < parsed.count, let v = parsed[i] { return v }
        let range = field(i).valueRange
        var values: [NameAddr] = []
        try Self.forEachValue(message.buffer, range) { (v: NameAddr) in values.append(v) }
        guard !values.isEmpty else { throw SIPParseError(.badNameAddr, at: range.lowerBound) }
        if parsed.isEmpty { parsed = [[NameAddr]?](repeating: nil, count: fieldCount) }
        parsed[i] = values
        return values
    }

    /// Parses the values of the field value in `range` in order: split at top-level commas
    /// (as `HeaderScanner.splitValues`, without collecting the ranges first), empty ones
    /// skipped.
    private static func forEachValue(
        _ b: [UInt8], _ range: Range<Int>, _ body: (NameAddr) -> Void
    ) throws(SIPParseError) {
        // The usual field has no comma at all: one value, found without the scanner's
        // quote and angle-bracket tracking.
        let hasComma = b.withUnsafeBufferPointer { p in
            var i = range.lowerBound
            while i < range.upperBound {
                if p[i] == UInt8(ascii: ",") { return true }
                i += 1
            }
            return false
        }
        var start = range.lowerBound
        while start <= range.upperBound {
            let end =
                hasComma
                ? HeaderScanner.nextTopLevelComma(b, start..<range.upperBound) ?? range.upperBound : range.upperBound
            let part = Self.trimmed(b, start..<end)
            if !part.isEmpty { body(try NameAddr.parse(b, part)) }
            start = end + 1
        }
    }

    /// `range` without leading and trailing spaces, tabs, CRs and LFs (as the SIP parser's
    /// `trimmed`).
    private static func trimmed(_ b: [UInt8], _ range: Range<Int>) -> Range<Int> {
        @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
        var lo = range.lowerBound
        var hi = range.upperBound
        while lo < hi, isSpace(b[lo]) { lo += 1 }
        while hi > lo, isSpace(b[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    mutating func entry(_ p: Position) throws(SIPParseError) -> NameAddr {
        if p.field == 0 && p.value == 0 { return try parseFirstField() }
        return try values(p.field)[p.value]
    }

    /// True when `p` is the last value of its field (Kamailio's `!rt->next`).
    mutating func isLastInField(_ p: Position) throws(SIPParseError) -> Bool {
        if p.field == 0 {
            try parseFirstField()
            return p.value == firstCount - 1
        }
        return try p.value == values(p.field).count - 1
    }

    /// The first value of the next Route field after `p`'s, or nil (`find_next_route`).
    mutating func nextField(after p: Position) throws(SIPParseError) -> Position? {
        guard p.field + 1 < fieldCount else { return nil }
        _ = try values(p.field + 1)
        return Position(field: p.field + 1, value: 0)
    }

    /// The whole line of field `i` (name to line break): what Kamailio deletes with
    /// `hdr->name.s`, `hdr->len`.
    func line(_ i: Int) -> Range<Int> { field(i).lineRange }

    /// Where the value of field `i` starts (Kamailio's `hdr->body.s`).
    func bodyStart(_ i: Int) -> Int { field(i).valueRange.lowerBound }
}

/// A Route or Request-URI URI taken apart, with what rr asks of it.
struct RouteURI {
    let buffer: [UInt8]
    let parts: URIComponents

    init(_ buffer: [UInt8], _ range: Range<Int>) throws(SIPParseError) {
        self.buffer = buffer
        self.parts = try URIComponents.parse(buffer, range)
    }

    init(text: String) throws(SIPParseError) {
        let b = Array(text.utf8)
        try self.init(b, 0..<b.count)
    }

    var text: String { string(parts.range) }
    var host: String { string(parts.host) }
    /// The port as written, 0 when none (Kamailio's `port_no`).
    var port: Int { parts.port ?? 0 }
    var user: String { parts.user.map(string) ?? "" }
    var isSIPS: Bool { parts.scheme == .sips }
    /// The parameters without the leading `;` (Kamailio's `puri.params`).
    var parameters: ArraySlice<UInt8> { buffer[parts.parametersRange] }
    var parametersRange: Range<Int> { parts.parametersRange }

    /// The `transport=` protocol (Kamailio's `puri.proto`), nil when none or unknown.
    var proto: TransportProtocol? {
        guard let v = parameter("transport") else { return nil }
        switch v.lowercased() {
        case "udp": return .udp
        case "tcp": return .tcp
        case "tls": return .tls
        case "sctp": return .sctp
        case "ws": return .ws
        default: return nil
        }
    }

    /// The value of parameter `name` (lower-case ASCII literal, any case in the URI); "" for
    /// a flag; nil when absent.
    func parameter(_ name: StaticString) -> String? {
        guard mayHaveParameter(name) else { return nil }
        for p in parts.parameters(buffer) where nameMatches(p.name, name) {
            return p.value.map(string) ?? ""
        }
        return nil
    }

    /// False when `name` (lower-case ASCII) occurs nowhere in the ASCII parameters, in any
    /// case: then no parameter has that name and they need not be parsed (`gr`, `maddr` and
    /// `transport` are looked up for every Route). True when it may be there. The name is a
    /// literal: its bytes are read in place (no string is made or copied).
    private func mayHaveParameter(_ name: StaticString) -> Bool {
        let r = parts.parametersRange
        let w = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return buffer.withUnsafeBufferPointer { b in
            guard let first = w.first, r.count >= w.count else { return false }
            var i = r.lowerBound
            while i + w.count <= r.upperBound {
                let c = b[i]
                if c >= 0x80 { return true }  // non-ASCII: leave it to the parser
                if (c >= 0x41 && c <= 0x5A ? c + 0x20 : c) == first {
                    var k = 1
                    while k < w.count {
                        let d = b[i + k]
                        if d >= 0x80 { return true }
                        if (d >= 0x41 && d <= 0x5A ? d + 0x20 : d) != w[k] { break }
                        k += 1
                    }
                    if k == w.count { return true }
                }
                i += 1
            }
            // Bytes after the last position a match could start at may still be non-ASCII.
            while i < r.upperBound {
                if b[i] >= 0x80 { return true }
                i += 1
            }
            return false
        }
    }

    /// True when the parameter name in `range`, lowercased, is `name`: ASCII names compared
    /// byte by byte (no strings made), others through `lowercased()`.
    private func nameMatches(_ range: Range<Int>, _ name: StaticString) -> Bool {
        let wanted = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        guard buffer[range].allSatisfy({ $0 < 0x80 }) else {
            return string(range).lowercased() == String(decoding: wanted, as: UTF8.self)
        }
        guard range.count == wanted.count else { return false }
        return zip(buffer[range], wanted).allSatisfy { c, w in (c >= 0x41 && c <= 0x5A ? c + 0x20 : c) == w }
    }

    func hasParameter(_ name: StaticString) -> Bool { parameter(name) != nil }

    func string(_ r: Range<Int>) -> String { String(decoding: buffer[r], as: UTF8.self) }

    /// Kamailio's `get_maddr_uri`: with a `maddr` parameter, `sip:<maddr>[:<port>]`; else the
    /// URI itself. Nil when the maddr value is too long (over 117 characters).
    var maddrTarget: String? {
        guard let maddr = parameter("maddr"), !maddr.isEmpty else { return text }
        guard maddr.utf8.count <= 127 - 10 else {
            Log.error("rr", "Too long maddr parameter")
            return nil
        }
        return "sip:" + maddr + (parts.portRange.map { ":" + string($0) } ?? "")
    }
}

/// Kamailio's URI parameter tests of `is_strict()` and `is_2rr()`: whether the parameters
/// contain `lr` (resp. `r2`), with or without a value, at any position.
enum ParameterScan {
    static func contains(_ params: ArraySlice<UInt8>, first: UInt8, second: UInt8) -> Bool {
        var state = 0
        for c in params {
            switch state {
            case 0:
                switch c {
                case 32, 13, 10, 9: break
                case first, first - 32: state = 1
                default: state = 4
                }
            case 1:
                state = (c == second || (second >= 97 && c == second - 32)) ? 2 : 4
            case 2, 3:
                switch c {
                case UInt8(ascii: ";"), UInt8(ascii: "="): return true
                case 32, 13, 10, 9: state = 3
                default: state = 4
                }
            case 4:
                if c == UInt8(ascii: "\"") {
                    state = 5
                } else if c == UInt8(ascii: ";") {
                    state = 0
                }
            case 5:
                if c == UInt8(ascii: "\\") {
                    state = 6
                } else if c == UInt8(ascii: "\"") {
                    state = 4
                }
            default:
                state = 5
            }
        }
        return state == 2 || state == 3
    }

    /// No `lr` parameter: the next hop is a strict router (`is_strict`).
    static func isStrict(_ params: ArraySlice<UInt8>) -> Bool {
        !contains(params, first: UInt8(ascii: "l"), second: UInt8(ascii: "r"))
    }

    /// An `r2` parameter: one of a double Record-Route (`is_2rr`).
    static func isDoubleRoute(_ params: ArraySlice<UInt8>) -> Bool {
        contains(params, first: UInt8(ascii: "r"), second: UInt8(ascii: "2"))
    }
}
