import SwiftletSDK
import Testing

/// The joining of SCTP reads into SIP messages (what the sctp module's receivers do).
@Suite struct SCTPMessageAssemblerTests {
    private func feed(
        _ a: inout SCTPMessageAssembler, _ text: String, assoc: UInt32 = 1, eor: Bool = true, note: Bool = false
    ) -> SCTPMessageAssembler.Result {
        Array(text.utf8).withUnsafeBytes { a.feed($0, association: assoc, endOfRecord: eor, notification: note) }
    }

    @Test func aWholeReadIsOneMessage() {
        var a = SCTPMessageAssembler()
        #expect(feed(&a, "OPTIONS sip:x SIP/2.0\r\n\r\n") == .message(Array("OPTIONS sip:x SIP/2.0\r\n\r\n".utf8)))
        #expect(a.pendingAssociations == 0)
    }

    @Test func partsAreJoinedUntilTheEndOfRecord() {
        var a = SCTPMessageAssembler()
        #expect(feed(&a, "OPTIONS sip:x ", eor: false) == .incomplete)
        #expect(feed(&a, "SIP/2.0\r\n", eor: false) == .incomplete)
        #expect(a.pendingAssociations == 1)
        #expect(feed(&a, "\r\n") == .message(Array("OPTIONS sip:x SIP/2.0\r\n\r\n".utf8)))
        #expect(a.pendingAssociations == 0)
    }

    @Test func associationsAreKeptApart() {
        var a = SCTPMessageAssembler()
        #expect(feed(&a, "A1", assoc: 1, eor: false) == .incomplete)
        #expect(feed(&a, "B1", assoc: 2, eor: false) == .incomplete)
        #expect(feed(&a, "B2", assoc: 2) == .message(Array("B1B2".utf8)))
        #expect(feed(&a, "A2", assoc: 1) == .message(Array("A1A2".utf8)))
    }

    @Test func notificationsAreNotMessages() {
        var a = SCTPMessageAssembler()
        #expect(feed(&a, "SIP", assoc: 3, eor: false) == .incomplete)
        #expect(feed(&a, "\u{1}\u{80}....", assoc: 3, note: true) == .notification)
        #expect(feed(&a, "X") == .message(Array("X".utf8)))
        // The notification did not mix with the data of the association.
        #expect(a.pendingAssociations == 1)
        #expect(feed(&a, "/2.0", assoc: 3) == .message(Array("SIP/2.0".utf8)))
    }

    @Test func aTooLargeMessageIsDroppedToItsEnd() {
        var a = SCTPMessageAssembler(maxSize: 8)
        #expect(feed(&a, "12345", eor: false) == .incomplete)
        #expect(feed(&a, "6789", eor: false) == .tooLarge)
        #expect(feed(&a, "rest", eor: false) == .tooLarge)
        #expect(feed(&a, "end") == .tooLarge)
        #expect(feed(&a, "next") == .message(Array("next".utf8)))
        #expect(feed(&a, "123456789") == .tooLarge)
        #expect(a.pendingAssociations == 0)
    }

    @Test func forgettingAnAssociationDropsItsParts() {
        var a = SCTPMessageAssembler()
        #expect(feed(&a, "half", assoc: 9, eor: false) == .incomplete)
        a.forget(association: 9)
        #expect(feed(&a, "new", assoc: 9) == .message(Array("new".utf8)))
    }
}
