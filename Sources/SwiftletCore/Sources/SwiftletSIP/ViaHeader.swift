/// One Via value: `SIP/2.0/UDP host[:port] *( ";" param )`, by offsets into the message.
///
/// The parameters Kamailio and RFC 3261/3581 care about (`branch`, `received`, `rport`,
/// `maddr`, `ttl`, `alias`, `i`) are located while parsing; the full list is available from
/// `parameters(_:)`.
///
/// Stored as 32-bit offsets (a parsed Via is copied with every message context and reply):
/// the ranges below are made from them when read. An offset 0 marks what is absent (nothing
/// optional can start at 0: every Via value starts with its protocol name).
public struct ViaHeader: Sendable {
    /// A located parameter: `;` at `start` (0: absent), its name, its value (`valueStart` 0:
    /// a flag); it ends where its value or else its name ends.
    struct Slot: Sendable {
        var start: Int32 = 0
        var nameStart: Int32 = 0
        var nameEnd: Int32 = 0
        var valueStart: Int32 = 0
        var valueEnd: Int32 = 0

        @inline(__always) init() {}

        @inline(__always) init(_ p: HeaderParameter?) {
            guard let p else { return }
            start = Int32(p.range.lowerBound)
            nameStart = Int32(p.name.lowerBound)
            nameEnd = Int32(p.name.upperBound)
            if let v = p.value {
                valueStart = Int32(v.lowerBound)
                valueEnd = Int32(v.upperBound)
            }
        }

        @inline(__always) var parameter: HeaderParameter? {
            guard start != 0 else { return nil }
            let value: Range<Int>? = valueStart != 0 ? Int(valueStart)..<Int(valueEnd) : nil
            return HeaderParameter(
                range: Int(start)..<(value?.upperBound ?? Int(nameEnd)), name: Int(nameStart)..<Int(nameEnd),
                value: value)
        }
    }

    private let rangeStart, rangeEnd, protocolNameStart, protocolNameEnd, protocolVersionStart,
        protocolVersionEnd, transportStart, transportEnd, hostStart, hostEnd, portStart, portEnd, portValue,
        parametersStart, parametersEnd, next: Int32
    private let slotBranch, slotReceived, slotRport, slotMaddr, slotTTL, slotAlias, slotI: Slot

    /// The whole Via value (up to a `,` that starts the next value, or the end of the field).
    public var range: Range<Int> { Int(rangeStart)..<Int(rangeEnd) }
    /// The protocol name and version (`SIP`, `2.0`).
    public var protocolName: Range<Int> { Int(protocolNameStart)..<Int(protocolNameEnd) }
    public var protocolVersion: Range<Int> { Int(protocolVersionStart)..<Int(protocolVersionEnd) }
    /// The transport token (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, `WSS`).
    public var transport: Range<Int> { Int(transportStart)..<Int(transportEnd) }
    /// The sent-by host, without brackets for IPv6 references.
    public var host: Range<Int> { Int(hostStart)..<Int(hostEnd) }
    /// The sent-by port text, if written.
    public var portRange: Range<Int>? { portStart != 0 ? Int(portStart)..<Int(portEnd) : nil }
    /// The sent-by port, if written.
    public var port: Int? { portStart != 0 ? Int(portValue) : nil }
    /// From the first `;` to the end of the value (empty when there are no parameters).
    public var parametersRange: Range<Int> { Int(parametersStart)..<Int(parametersEnd) }
    public var branch: HeaderParameter? { slotBranch.parameter }
    public var received: HeaderParameter? { slotReceived.parameter }
    public var rport: HeaderParameter? { slotRport.parameter }
    public var maddr: HeaderParameter? { slotMaddr.parameter }
    public var ttl: HeaderParameter? { slotTTL.parameter }
    public var alias: HeaderParameter? { slotAlias.parameter }
    public var i: HeaderParameter? { slotI.parameter }
    /// Where this value ends in its header field (the `,` before the next value, or the end).
    public var nextValueStart: Int? { next != 0 ? Int(next) : nil }

    /// A Via from its parts (all offsets below `Int32.max`; the optional ones above 0).
    init(
        range: Range<Int>, protocolName: Range<Int>, protocolVersion: Range<Int>, transport: Range<Int>,
        host: Range<Int>, portRange: Range<Int>?, port: Int?, parametersRange: Range<Int>, branch: HeaderParameter?,
        received: HeaderParameter?, rport: HeaderParameter?, maddr: HeaderParameter?, ttl: HeaderParameter?,
        alias: HeaderParameter?, i: HeaderParameter?, nextValueStart: Int?
    ) {
        self.init(
            range: range, protocolName: protocolName, protocolVersion: protocolVersion, transport: transport,
            host: host, portStart: Int32(portRange?.lowerBound ?? 0), portEnd: Int32(portRange?.upperBound ?? 0),
            port: Int32(port ?? 0), parametersRange: parametersRange,
            slots: (Slot(branch), Slot(received), Slot(rport), Slot(maddr), Slot(ttl), Slot(alias), Slot(i)),
            next: Int32(nextValueStart ?? 0))
    }

    @inline(__always) private init(
        range: Range<Int>, protocolName: Range<Int>, protocolVersion: Range<Int>, transport: Range<Int>,
        host: Range<Int>, portStart: Int32, portEnd: Int32, port: Int32, parametersRange: Range<Int>,
        slots: (Slot, Slot, Slot, Slot, Slot, Slot, Slot), next: Int32
    ) {
        rangeStart = Int32(truncatingIfNeeded: range.lowerBound)
        rangeEnd = Int32(truncatingIfNeeded: range.upperBound)
        protocolNameStart = Int32(truncatingIfNeeded: protocolName.lowerBound)
        protocolNameEnd = Int32(truncatingIfNeeded: protocolName.upperBound)
        protocolVersionStart = Int32(truncatingIfNeeded: protocolVersion.lowerBound)
        protocolVersionEnd = Int32(truncatingIfNeeded: protocolVersion.upperBound)
        transportStart = Int32(truncatingIfNeeded: transport.lowerBound)
        transportEnd = Int32(truncatingIfNeeded: transport.upperBound)
        hostStart = Int32(truncatingIfNeeded: host.lowerBound)
        hostEnd = Int32(truncatingIfNeeded: host.upperBound)
        self.portStart = portStart
        self.portEnd = portEnd
        portValue = port
        parametersStart = Int32(truncatingIfNeeded: parametersRange.lowerBound)
        parametersEnd = Int32(truncatingIfNeeded: parametersRange.upperBound)
        (slotBranch, slotReceived, slotRport, slotMaddr, slotTTL, slotAlias, slotI) = slots
        self.next = next
    }

    /// Every parameter in order.
    public func parameters(_ b: [UInt8]) -> [HeaderParameter] {
        (try? HeaderScanner.parameters(
            b, from: parametersRange.lowerBound, to: parametersRange.upperBound, failure: .badVia)) ?? []
    }

    /// The parameter with the given (lower-case) name.
    public func parameter(_ b: [UInt8], _ name: StaticString) -> HeaderParameter? {
        HeaderScanner.find(b, parameters(b), name)
    }

    /// True when the branch starts with RFC 3261's magic cookie `z9hG4bK`.
    public func hasRFC3261Branch(_ b: [UInt8]) -> Bool {
        guard let v = branch?.value, v.count >= 7, v.lowerBound >= 0, v.lowerBound + 7 <= b.count else {
            return false
        }
        // Seven byte compares (a generic `elementsEqual` on a slice costs hundreds of instructions).
        let s = v.lowerBound
        return b[s] == 0x7A && b[s + 1] == 0x39 && b[s + 2] == 0x68 && b[s + 3] == 0x47 && b[s + 4] == 0x34
            && b[s + 5] == 0x62 && b[s + 6] == 0x4B
    }

    /// Parses the first Via value found in `range` of `b`.
    public static func parse(_ b: [UInt8], _ range: Range<Int>) throws(SIPParseError) -> ViaHeader {
        precondition(range.lowerBound >= 0 && range.upperBound <= b.count)
        // On the raw bytes: the top Via of every received message is parsed.
        return try b.withUnsafeBufferPointer { (p) throws(SIPParseError) -> ViaHeader in try parse(p, range) }
    }

    /// `parse(_:_:)` on the message's bytes (`range` lies inside `b`).
    static func parse(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(SIPParseError) -> ViaHeader {
        // The offsets are stored in 32 bits (no SIP message comes near 2 GB).
        guard range.upperBound < Int(Int32.max) else { throw SIPParseError(.badVia, at: range.lowerBound) }
        var i = range.lowerBound
        let end = range.upperBound
        @inline(__always) func skipSpace() { while i < end, ASCII.isLWS(b[i]) { i += 1 } }
        @inline(__always) func token() -> Range<Int> {
            let s = i
            var k = i
            while k < end, SIPMessage.isTokenChar(b[k]) { k += 1 }
            i = k
            return s..<k
        }
        @inline(__always) func expect(_ c: UInt8) throws(SIPParseError) {
            skipSpace()
            guard i < end, b[i] == c else { throw SIPParseError(.badVia, at: i) }
            i += 1
            skipSpace()
        }
        @inline(__always) func equalsLowercased(_ r: Range<Int>, _ literal: StaticString) -> Bool {
            let n = literal.utf8CodeUnitCount
            guard r.count == n else { return false }
            let lit = literal.utf8Start
            for k in 0..<n where ASCII.lower(b[r.lowerBound + k]) != lit[k] { return false }
            return true
        }
        skipSpace()
        let start = i
        let proto = token()
        guard equalsLowercased(proto, "sip") else { throw SIPParseError(.badVia, at: proto.lowerBound) }
        try expect(ASCII.slash)
        let version = token()
        guard equalsLowercased(version, "2.0") else { throw SIPParseError(.badVia, at: version.lowerBound) }
        try expect(ASCII.slash)
        let transport = token()
        guard !transport.isEmpty else { throw SIPParseError(.badVia, at: i) }
        guard i < end, ASCII.isLWS(b[i]) else { throw SIPParseError(.badVia, at: i) }
        skipSpace()

        // sent-by
        let host: Range<Int>
        var hostEnd: Int
        if i < end, b[i] == ASCII.openBracket {
            let s = i + 1
            var close = s
            while close < end, b[close] != ASCII.closeBracket { close += 1 }
            guard close < end, close > s else { throw SIPParseError(.badVia, at: i) }
            host = s..<close
            i = close + 1
            hostEnd = i
        } else {
            // Token characters up to one of `viaHostEnd` (none of which is a token character)
            // or the end; anything else is malformed.
            let s = i
            var k = i
            while k < end, SIPMessage.isTokenChar(b[k]) { k += 1 }
            guard k == end || ASCII.isIn(b[k], ASCII.viaHostEnd) else { throw SIPParseError(.badVia, at: k) }
            i = k
            host = s..<i
            hostEnd = i
        }
        guard !host.isEmpty else { throw SIPParseError(.badVia, at: i) }
        skipSpace()
        var portStart: Int32 = 0
        var portEnd: Int32 = 0
        var port: Int32 = 0
        if i < end, b[i] == ASCII.colon {
            i += 1
            skipSpace()
            let s = i
            var k = i
            var value = 0
            while k < end {
                let d = b[k] &- 48
                guard d < 10 else { break }
                if k - s < 10 { value = value &* 10 &+ Int(d) }
                k += 1
            }
            i = k
            // As `decimalValue`: one to ten digits.
            guard i > s, i - s <= 10, value <= 65535 else { throw SIPParseError(.badVia, at: s) }
            portStart = Int32(truncatingIfNeeded: s)
            portEnd = Int32(truncatingIfNeeded: i)
            port = Int32(truncatingIfNeeded: value)
            hostEnd = i
            skipSpace()
        }

        // parameters, located without building a list
        let paramsStart = i
        var last = hostEnd
        var slots = (Slot(), Slot(), Slot(), Slot(), Slot(), Slot(), Slot())
        while i < end, b[i] == ASCII.semicolon {
            let pStart = i
            i += 1
            skipSpace()
            let name = token()
            guard !name.isEmpty else { throw SIPParseError(.badVia, at: i) }
            skipSpace()
            var valueStart = 0
            var valueEnd = 0
            if i < end, b[i] == ASCII.equals {
                i += 1
                skipSpace()
                if i < end, b[i] == ASCII.quote {
                    // As HeaderScanner.endOfQuotedString.
                    var q = i + 1
                    var close: Int? = nil
                    while q < end {
                        if b[q] == ASCII.backslash {
                            q += 2
                            continue
                        }
                        if b[q] == ASCII.quote {
                            close = q + 1
                            break
                        }
                        q += 1
                    }
                    guard let close else { throw SIPParseError(.badVia, at: i) }
                    valueStart = i
                    valueEnd = close
                    i = close
                } else {
                    valueStart = i
                    i = Self.valueEnd(b.baseAddress!, i, end)
                    valueEnd = i
                }
            }
            // A value starts after the `;` (so never at 0): 0 marks a flag.
            last = valueStart != 0 ? valueEnd : name.upperBound
            var slot = Slot()
            slot.start = Int32(truncatingIfNeeded: pStart)
            slot.nameStart = Int32(truncatingIfNeeded: name.lowerBound)
            slot.nameEnd = Int32(truncatingIfNeeded: name.upperBound)
            slot.valueStart = Int32(truncatingIfNeeded: valueStart)
            slot.valueEnd = Int32(truncatingIfNeeded: valueEnd)
            skipSpace()
            switch name.count {
            case 6 where equalsLowercased(name, "branch"): slots.0 = slot
            case 8 where equalsLowercased(name, "received"): slots.1 = slot
            case 5 where equalsLowercased(name, "rport"): slots.2 = slot
            case 5 where equalsLowercased(name, "maddr"): slots.3 = slot
            case 3 where equalsLowercased(name, "ttl"): slots.4 = slot
            case 5 where equalsLowercased(name, "alias"): slots.5 = slot
            case 1 where equalsLowercased(name, "i"): slots.6 = slot
            default: break
            }
        }
        skipSpace()
        guard i == end || b[i] == ASCII.comma else { throw SIPParseError(.badVia, at: i) }
        return ViaHeader(
            range: start..<last, protocolName: proto, protocolVersion: version, transport: transport, host: host,
            portStart: portStart, portEnd: portEnd, port: port, parametersRange: min(paramsStart, last)..<last,
            slots: slots, next: i < end ? Int32(truncatingIfNeeded: i + 1) : 0)
    }

    /// Where an unquoted parameter value starting at `from` ends (`ASCII.parameterValueEnd`
    /// or `end`). A function of its own: the loop keeps its index in a register.
    @inline(never)
    static func valueEnd(_ p: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        var k = from
        while k < end {
            let c = p[k]
            if c < 64, (ASCII.parameterValueEnd &>> UInt64(c)) & 1 != 0 { break }
            k += 1
        }
        return k
    }

    /// Every Via value of one header field (`Via: a, b`).
    public static func parseAll(_ b: [UInt8], _ range: Range<Int>) throws(SIPParseError) -> [ViaHeader] {
        var result: [ViaHeader] = []
        var start = range.lowerBound
        while true {
            let v = try parse(b, start..<range.upperBound)
            result.append(v)
            guard let next = v.nextValueStart else { return result }
            start = next
        }
    }
}
