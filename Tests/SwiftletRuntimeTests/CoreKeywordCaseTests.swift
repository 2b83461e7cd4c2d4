import Testing

@testable import SwiftletRuntime

/// `method == "invite"`, `uri == "sip:..."`: the keyword comparison ignores case as
/// `lowercased()` on both sides does, with a byte comparison when both are ASCII.
struct CoreKeywordCaseTests {
    @Test func asciiLettersMatchInEitherCase() {
        #expect(CoreKeywords.equalIgnoringCase("OPTIONS", "options"))
        #expect(CoreKeywords.equalIgnoringCase("sip:Alice@Example.COM", "SIP:alice@example.com"))
        #expect(CoreKeywords.equalIgnoringCase("", ""))
    }

    @Test func otherBytesMustBeEqual() {
        #expect(!CoreKeywords.equalIgnoringCase("INVITE", "INVITES"))
        #expect(!CoreKeywords.equalIgnoringCase("INVITE", "BYE"))
        // '@' (0x40) and '`' (0x60) differ only in the bit that tells case for letters.
        #expect(!CoreKeywords.equalIgnoringCase("a@b", "a`b"))
        #expect(!CoreKeywords.equalIgnoringCase("[", "{"))
        #expect(!CoreKeywords.equalIgnoringCase("1", "\u{11}"))
    }

    @Test func nonASCIITextFoldsAsLowercasedDoes() {
        #expect(CoreKeywords.equalIgnoringCase("sip:ÉLAN@x", "sip:élan@x"))
        #expect(!CoreKeywords.equalIgnoringCase("sip:é@x", "sip:e@x"))
        for (a, b) in [("Straße", "STRASSE"), ("İ", "i\u{307}"), ("e\u{301}", "é"), ("Ωmega", "ωMEGA")] {
            #expect(CoreKeywords.equalIgnoringCase(a, b) == (a.lowercased() == b.lowercased()))
        }
    }
}
