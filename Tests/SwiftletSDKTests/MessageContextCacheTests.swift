import SwiftletSIP
import Testing

@testable import SwiftletSDK

/// What a message context parses once per message: the top Via (`via1`) and the To-tag's
/// range (`toTagRange`), both renewed when the script replaces the message.
@Suite struct MessageContextCacheTests {
    func message(to: String, via: String = "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-a") throws -> SIPMessage {
        let text = [
            "BYE sip:bob@127.0.0.1 SIP/2.0", "Via: \(via)", "From: <sip:alice@example.com>;tag=f1",
            "To: \(to)", "Call-ID: c1", "CSeq: 2 BYE", "Content-Length: 0", "", "",
        ].joined(separator: "\r\n")
        return try SIPMessage(parsing: Array(text.utf8))
    }

    func context(_ m: SIPMessage) -> MessageContext {
        MessageContext(
            message: m,
            receive: ReceiveInfo(
                proto: .udp, sourceIP: "10.0.0.1", sourcePort: 5062, localIP: "127.0.0.1", localPort: 5060))
    }

    func tag(_ ctx: MessageContext) -> String? {
        ctx.toTagRange.map { String(decoding: ctx.message.buffer[$0], as: UTF8.self) }
    }

    @Test func toTagIsFoundAndRenewedWithTheMessage() throws {
        let ctx = context(try message(to: "<sip:bob@example.com>;tag=t-42"))
        #expect(tag(ctx) == "t-42")
        #expect(tag(ctx) == "t-42")  // the second answer from the first lookup
        ctx.message = try message(to: "\"Bob\" <sip:bob@example.com>")
        #expect(ctx.toTagRange == nil)
        ctx.message = try message(to: "sip:bob@example.com;tag=")
        #expect(ctx.toTagRange == nil, "a valueless tag is malformed")
        ctx.message = try message(to: "<sip:bob@example.com>;tag=other")
        #expect(tag(ctx) == "other")
    }

    @Test func replacingTheMessageParsesItsTopVia() throws {
        let ctx = context(try message(to: "<sip:bob@example.com>"))
        #expect(ctx.via1.map { String(decoding: ctx.message.buffer[$0.host], as: UTF8.self) } == "10.0.0.1")
        ctx.message = try message(to: "<sip:bob@example.com>", via: "SIP/2.0/TCP host.example.com;branch=z9hG4bK-b")
        #expect(
            ctx.via1.map { String(decoding: ctx.message.buffer[$0.host], as: UTF8.self) } == "host.example.com")
    }

    /// `editsAreUnchanged` answers as `editsSoFar.isUnchanged` does, without making an editor.
    @Test func editsAreUnchangedUntilAnEditIsRecorded() throws {
        let ctx = context(try message(to: "<sip:bob@example.com>"))
        #expect(ctx.editsAreUnchanged)
        _ = ctx.edits  // an editor made, still without edits
        #expect(ctx.editsAreUnchanged && ctx.editsSoFar.isUnchanged)
        ctx.edits.appendHeader("X-Test: 1")
        #expect(!ctx.editsAreUnchanged && !ctx.editsSoFar.isUnchanged)
        ctx.edits = MessageEditor(ctx.message)
        #expect(ctx.editsAreUnchanged)
    }
}
