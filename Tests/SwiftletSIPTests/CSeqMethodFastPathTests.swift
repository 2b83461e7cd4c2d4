import Foundation
import Testing

@testable import SwiftletSIP

/// `CSeqHeader.parse` and `SIPMethod(bytes:_:)` work on the raw bytes and compare method
/// tokens a machine word at a time; these tests hold them to the byte-by-byte versions they
/// replaced (kept here as the reference), on every torture message and on crafted values.
@Suite struct CSeqMethodFastPathTests {
    /// The former `SIPMethod(bytes:_:)`: one `memcmp` per candidate of the token's length.
    static func referenceMethod(_ b: [UInt8], _ r: Range<Int>) -> SIPMethod {
        func eq(_ lit: String) -> Bool { lit.utf8.count == r.count && b[r].elementsEqual(lit.utf8) }
        switch r.count {
        case 3 where eq("ACK"): return .ack
        case 3 where eq("BYE"): return .bye
        case 4 where eq("INFO"): return .info
        case 4 where eq("KDMQ"): return .kdmq
        case 5 where eq("PRACK"): return .prack
        case 5 where eq("REFER"): return .refer
        case 6 where eq("INVITE"): return .invite
        case 6 where eq("CANCEL"): return .cancel
        case 6 where eq("NOTIFY"): return .notify
        case 6 where eq("UPDATE"): return .update
        case 7 where eq("OPTIONS"): return .options
        case 7 where eq("MESSAGE"): return .message
        case 7 where eq("PUBLISH"): return .publish
        case 8 where eq("REGISTER"): return .register
        case 9 where eq("SUBSCRIBE"): return .subscribe
        default: return .other(String(decoding: b[r], as: UTF8.self))
        }
    }

    /// The former `CSeqHeader.parse`, on `[UInt8]`.
    static func referenceCSeq(_ b: [UInt8], _ r: Range<Int>) throws(SIPParseError) -> (UInt32, Range<Int>, SIPMethod) {
        var i = r.lowerBound
        while i < r.upperBound, ASCII.isDigit(b[i]) { i += 1 }
        guard i > r.lowerBound, i - r.lowerBound <= 10, let n = b.decimalValue(r.lowerBound..<i), n <= Int(UInt32.max)
        else {
            throw SIPParseError(.badCSeq, at: r.lowerBound)
        }
        guard i < r.upperBound, ASCII.isWhitespace(b[i]) || b[i] == ASCII.cr || b[i] == ASCII.lf else {
            throw SIPParseError(.badCSeq, at: i)
        }
        let method = b.trimmed(i..<r.upperBound)
        guard !method.isEmpty, method.allSatisfy({ SIPMessage.isTokenChar(b[$0]) }) else {
            throw SIPParseError(.badCSeq, at: i)
        }
        return (UInt32(n), method, referenceMethod(b, method))
    }

    static let methodNames = [
        "ACK", "BYE", "INFO", "KDMQ", "PRACK", "REFER", "INVITE", "CANCEL", "NOTIFY", "UPDATE", "OPTIONS", "MESSAGE",
        "PUBLISH", "REGISTER", "SUBSCRIBE",
    ]

    /// Method tokens: the known ones, their lower-case and one-letter-off variants, other
    /// lengths, and tokens at the very end of the buffer (the word load must stay inside it).
    static var methodTokens: [String] {
        var tokens = [
            "", "A", "AC", "ACKS", "SUBSCRIBES", "SUBSCRIBX", "SUBSCRIB", "REGISTERS", "FOO", "INVITE2", "X-Y",
        ]
        for m in methodNames {
            tokens.append(m)
            tokens.append(m.lowercased())
            tokens.append(String(m.dropLast()) + "X")
            tokens.append("X" + String(m.dropFirst()))
        }
        return tokens
    }

    @Test func methodClassificationMatchesReference() {
        for token in Self.methodTokens {
            for (prefix, suffix) in [
                ("", ""), ("CSeq: 1 ", "\r\n"), ("0123456789abcdef ", ""), ("", " trailing bytes"),
            ] {
                let b = Array((prefix + token + suffix).utf8)
                let r = prefix.utf8.count..<prefix.utf8.count + token.utf8.count
                #expect(SIPMethod(bytes: b, r) == Self.referenceMethod(b, r), "\(token) in \(prefix)|\(suffix)")
            }
        }
    }

    /// Compares the fast parse with the reference on `value` (its bytes, alone and inside a line).
    static func compare(_ value: String) {
        for (prefix, suffix) in [("", ""), ("CSeq: ", "\r\nTo: <sip:a@b>\r\n")] {
            let b = Array((prefix + value + suffix).utf8)
            let r = prefix.utf8.count..<prefix.utf8.count + value.utf8.count
            let expected = Result { () throws(SIPParseError) in try referenceCSeq(b, r) }
            let actual = Result { () throws(SIPParseError) in try CSeqHeader.parse(b, r) }
            // The counters' read: the method when the value parses and the method is known.
            let known: SIPMethod? = (try? referenceCSeq(b, r)).flatMap { e -> SIPMethod? in
                if case .other = e.2 { return nil }
                return e.2
            }
            #expect(CSeqHeader.knownMethod(b, r) == known, "\(value)")
            switch (expected, actual) {
            case (.success(let e), .success(let a)):
                #expect(e.0 == a.number && e.1 == a.methodRange && e.2 == a.method, "\(value)")
            case (.failure(let e), .failure(let a)):
                #expect(e == a, "\(value)")
            default:
                Issue.record("\(value): reference \(expected), fast \(actual)")
            }
        }
    }

    @Test func cseqMatchesReferenceOnCraftedValues() {
        var values = [
            "", " ", "1", "1 ", "1\t", "1 \r\n", "x INVITE", " 1 INVITE", "1INVITE", "1 INV ITE", "1 INVITE ",
            "1\tINVITE", "1\r\n INVITE", "4294967295 INVITE", "4294967296 INVITE", "0000000001 ACK",
            "00000000001 ACK", "99999999999 ACK", "2147483648 BYE", "1 INVITE;x", "1 \"INVITE\"", "1 é",
            "12345678901234567890 INVITE",
        ]
        for token in Self.methodTokens { values += ["1 " + token, "314159 " + token + "  ", "7\t\t" + token] }
        for value in values { Self.compare(value) }
    }

    @Test(arguments: tortureCases) func cseqMatchesReferenceOnTortureMessages(_ c: TortureCase) throws {
        let bytes = try tortureBytes(c)
        guard let message = try? SIPMessage(parsing: bytes) else { return }
        for h in message.headers where h.name == .cseq {
            Self.compare(message.value(of: h))
            let expected = Result { () throws(SIPParseError) in try Self.referenceCSeq(bytes, h.valueRange) }
            let actual = Result { () throws(SIPParseError) in try CSeqHeader.parse(bytes, h.valueRange) }
            switch (expected, actual) {
            case (.success(let e), .success(let a)):
                #expect(e.0 == a.number && e.1 == a.methodRange && e.2 == a.method)
            case (.failure(let e), .failure(let a)):
                #expect(e == a)
            default:
                Issue.record("\(c.name): reference \(expected), fast \(actual)")
            }
        }
        if case .request(let method, let range, _) = message.firstLine {
            #expect(method == Self.referenceMethod(bytes, range))
        }
    }
}
