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
}
