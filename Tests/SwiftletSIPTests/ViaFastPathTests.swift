import Foundation
import Testing

@testable import SwiftletSIP

/// `ViaHeader.parse` scans with local indices and one character-set test per host byte;
/// these tests hold it to the version it replaced (kept here as the reference) on every Via
/// of the torture messages, the fuzz corpus and regressions, and crafted values.
@Suite struct ViaFastPathTests {
    static func referenceVia(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(SIPParseError) -> ViaHeader {
        var i = range.lowerBound
        let end = range.upperBound
        @inline(__always) func skipSpace() { while i < end, ASCII.isLWS(b[i]) { i += 1 } }
        @inline(__always) func token() -> Range<Int> {
            let s = i
            while i < end, SIPMessage.isTokenChar(b[i]) { i += 1 }
            return s..<i
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
            let s = i
            while i < end {
                let c = b[i]
                if ASCII.isIn(c, ASCII.viaHostEnd) { break }
                guard SIPMessage.isTokenChar(c) else { throw SIPParseError(.badVia, at: i) }
                i += 1
            }
            host = s..<i
            hostEnd = i
        }
        guard !host.isEmpty else { throw SIPParseError(.badVia, at: i) }
        skipSpace()
        var portRange: Range<Int>? = nil
        var port: Int? = nil
        if i < end, b[i] == ASCII.colon {
            i += 1
            skipSpace()
            let s = i
            var value = 0
            while i < end, ASCII.isDigit(b[i]) {
                if i - s < 10 { value = value * 10 + Int(b[i] &- 48) }
                i += 1
            }
            // As `decimalValue`: one to ten digits.
            guard i > s, i - s <= 10, value <= 65535 else { throw SIPParseError(.badVia, at: s) }
            portRange = s..<i
            port = value
            hostEnd = i
            skipSpace()
        }

        // parameters, located without building a list
        let paramsStart = i
        var last = hostEnd
        var branch, received, rport, maddr, ttl, alias, iParam: HeaderParameter?
        while i < end, b[i] == ASCII.semicolon {
            let pStart = i
            i += 1
            skipSpace()
            let name = token()
            guard !name.isEmpty else { throw SIPParseError(.badVia, at: i) }
            skipSpace()
            var value: Range<Int>? = nil
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
                    value = i..<close
                    i = close
                } else {
                    let s = i
                    while i < end {
                        let c = b[i]
                        if ASCII.isIn(c, ASCII.parameterValueEnd) { break }
                        i += 1
                    }
                    value = s..<i
                }
            }
            let p = HeaderParameter(range: pStart..<(value?.upperBound ?? name.upperBound), name: name, value: value)
            last = p.range.upperBound
            skipSpace()
            switch name.count {
            case 6 where equalsLowercased(name, "branch"): branch = p
            case 8 where equalsLowercased(name, "received"): received = p
            case 5 where equalsLowercased(name, "rport"): rport = p
            case 5 where equalsLowercased(name, "maddr"): maddr = p
            case 3 where equalsLowercased(name, "ttl"): ttl = p
            case 5 where equalsLowercased(name, "alias"): alias = p
            case 1 where equalsLowercased(name, "i"): iParam = p
            default: break
            }
        }
        skipSpace()
        guard i == end || b[i] == ASCII.comma else { throw SIPParseError(.badVia, at: i) }
        return ViaHeader(
            range: start..<last, protocolName: proto, protocolVersion: version, transport: transport, host: host,
            portRange: portRange, port: port, parametersRange: min(paramsStart, last)..<last, branch: branch,
            received: received,
            rport: rport, maddr: maddr, ttl: ttl, alias: alias, i: iParam,
            nextValueStart: i < end ? i + 1 : nil)
    }

    /// Every field of two parsed Vias is equal.
    static func same(_ a: ViaHeader, _ b: ViaHeader) -> Bool {
        a.range == b.range && a.protocolName == b.protocolName && a.protocolVersion == b.protocolVersion
            && a.transport == b.transport && a.host == b.host && a.portRange == b.portRange && a.port == b.port
            && a.parametersRange == b.parametersRange && a.branch == b.branch && a.received == b.received
            && a.rport == b.rport && a.maddr == b.maddr && a.ttl == b.ttl && a.alias == b.alias && a.i == b.i
            && a.nextValueStart == b.nextValueStart
    }

    /// Compares the parse with the reference from every start offset inside `range` (so that
    /// values after a comma, and truncated ones, are covered too).
    static func compare(_ bytes: [UInt8], _ range: Range<Int>, _ label: String) {
        for start in range.lowerBound...range.upperBound {
            let r = start..<range.upperBound
            let expected = Result { () throws(SIPParseError) in
                try bytes.withUnsafeBufferPointer { (p) throws(SIPParseError) in try referenceVia(p, r) }
            }
            let actual = Result { () throws(SIPParseError) in try ViaHeader.parse(bytes, r) }
            switch (expected, actual) {
            case (.success(let e), .success(let a)):
                #expect(same(e, a), "\(label) from \(start)")
            case (.failure(let e), .failure(let a)):
                #expect(e == a, "\(label) from \(start)")
            default:
                Issue.record("\(label) from \(start): reference \(expected), fast \(actual)")
            }
        }
    }

    /// Every Via field of a message (or, when it does not parse, every line of it).
    static func compareVias(_ bytes: [UInt8], _ label: String) {
        if let m = try? SIPMessage(parsing: bytes) {
            for h in m.headers where h.name == .via { compare(bytes, h.valueRange, label) }
        } else {
            compare(bytes, 0..<bytes.count, label)
        }
    }

    @Test(arguments: tortureCases) func torture(_ c: TortureCase) throws {
        Self.compareVias(try tortureBytes(c), c.name)
    }

    @Test func fuzzInputs() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz")
        var count = 0
        for dir in ["corpus", "regressions"] {
            let d = fuzz.appendingPathComponent(dir)
            for name in try FileManager.default.contentsOfDirectory(atPath: d.path) {
                Self.compareVias([UInt8](try Data(contentsOf: d.appendingPathComponent(name))), name)
                count += 1
            }
        }
        #expect(count > 0)
    }

    @Test func craftedValues() {
        let values = [
            "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1-0",
            "SIP/2.0/UDP host;branch=z9hG4bKx;rport;received=1.2.3.4",
            "SIP/2.0/UDP host:5060;rport=5060;maddr=224.0.0.1;ttl=16;alias;i=3, SIP/2.0/TCP b:1;branch=y",
            "sip/2.0/tls [2001:db8::1]:5061;branch=z9hG4bKq",
            "SIP / 2.0 / UDP   host : 65535 ; branch = \"quoted;value\" ; x",
            "SIP/2.0/UDP host:65536;branch=a", "SIP/2.0/UDP host:;branch=a", "SIP/2.0/UDP host:12345678901",
            "SIP/2.0/UDP host:0000000080", "SIP/2.0/UDP host:00000000080", "SIP/2.0/UDP h\u{00e9}st",
            "SIP/2.0/UDP ho(st", "SIP/2.0/UDP host\t;branch=a", "SIP/2.0/UDP host\r\n ;branch=a",
            "SIP/2.0/UDP host,SIP/2.0/UDP b", "SIP/2.0/UDP host;=x", "SIP/2.0/UDP host;branch=\"open",
            "SIP/2.0/UDP host;branch=a\"b", "SIP/2.0/UDP []", "SIP/2.0/UDP [::1", "SIP/2.0 UDP host", "SIP/2.0/",
            "SIP/3.0/UDP host", "SIP/2.0/UDP", "SIP/2.0/UDP ", "SIP/2.0/UDP host x", "SIP/2.0/UDP host:5060 x",
            "SIP/2.0/UDP host;BRANCH=Z;RPORT;Received=r", "SIP/2.0/UDP host:5\u{00e9}", "SIP/2.0/UDP a.b-c_d~e!f",
        ]
        for v in values {
            let b = Array(v.utf8)
            Self.compare(b, 0..<b.count, v)
        }
    }
}
