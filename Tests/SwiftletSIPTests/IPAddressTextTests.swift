import Testing

@testable import SwiftletSIP

/// `IPAddressText.ipv4` for each kind of text it is called with (String, Substring, a slice
/// inside a longer string), as `inet_pton(AF_INET)` reads them.
@Suite struct IPAddressTextTests {
    @Test func ipv4FromStringAndSubstring() {
        #expect(IPAddressText.ipv4("127.0.0.1") == 0x7F00_0001)
        #expect(IPAddressText.ipv4("10.1.2.255") == 0x0A01_02FF)
        let text = "[192.168.1.20]:5060"
        let inner = text.dropFirst().prefix(12)
        #expect(inner == "192.168.1.20")
        #expect(IPAddressText.ipv4(inner) == 0xC0A8_0114)
        #expect(IPAddressText.ipv4(Substring("8.8.4.4")) == 0x0808_0404)
    }

    @Test func ipv4RejectsWhatInetPtonRejects() {
        for bad in ["", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "a.b.c.d", "::1", "1.2.3.4 ", "example.com"] {
            #expect(IPAddressText.ipv4(bad) == nil, "\(bad)")
            #expect(IPAddressText.ipv4(Substring(bad)) == nil, "\(bad)")
        }
        // A Substring cut out of a longer text stops at its own end.
        let text = "1.2.3.45"
        #expect(IPAddressText.ipv4(text.dropLast()) == 0x0102_0304)
        #expect(IPAddressText.ipv4(text.dropLast(2)) == nil)
    }

    /// The part-by-part parser gives what the former digit loop gave for every combination of
    /// parts around the limits (leading zeros, 255/256, four digits, letters, empty parts)
    /// with three, four and five parts.
    @Test func ipv4MatchesTheDigitLoop() {
        let parts = [
            "", "0", "00", "01", "1", "9", "10", "99", "100", "199", "200", "249", "250", "255", "256", "299",
            "300", "999", "1000", "a", "1a", " 1", "1 ",
        ]
        var checked = 0
        func check(_ text: String) {
            let bytes = Array(text.utf8)
            let got = bytes.withUnsafeBytes { IPAddressText.ipv4($0) }
            #expect(got == Self.digitLoop(bytes), "\(text)")
            #expect(IPAddressText.ipv4(text) == got, "\(text)")
            checked += 1
        }
        for a in parts {
            for b in parts {
                for c in parts {
                    check("\(a).\(b).\(c)")
                    for d in parts { check("\(a).\(b).\(c).\(d)") }
                }
            }
        }
        for extra in ["1.2.3.4.5", "1.2.3.4.", ".1.2.3.4", "1..2.3.4", "255.255.255.255", "0.0.0.0", "1.2.3.4\r"] {
            check(extra)
        }
        #expect(checked > 290_000)
    }

    /// The parser as it was: one loop over the bytes, a part at a time.
    static func digitLoop(_ b: [UInt8]) -> UInt32? {
        guard b.count >= 7, b.count <= 15 else { return nil }
        var value: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        for c in b {
            if c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                if digits > 0, part == 0 { return nil }
                part = part * 10 + UInt32(c - UInt8(ascii: "0"))
                digits += 1
                guard part <= 255 else { return nil }
            } else if c == UInt8(ascii: "."), digits > 0, parts < 3 {
                value = value << 8 | part
                parts += 1
                part = 0
                digits = 0
            } else {
                return nil
            }
        }
        guard parts == 3, digits > 0 else { return nil }
        return value << 8 | part
    }
}
