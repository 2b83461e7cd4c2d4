import Foundation
import Testing

@testable import SwiftletSIP

/// One entry of Tests/Fixtures/torture/manifest.json (RFC 4475).
struct TortureCase: Decodable, CustomTestStringConvertible, Sendable {
    struct Via: Decodable, Sendable {
        let host: String
        let port: Int?
        let branch: String?
        let transport: String
    }
    struct CSeq: Decodable, Sendable {
        let number: Int
        let method: String
    }
    struct Expect: Decodable, Sendable {
        let method: String?
        let request_uri: String?
        let call_id: String?
        let cseq: CSeq?
        let via_count: Int?
        let top_via: Via?
        let from_tag: String?
        let to_tag: String?
        let content_length: Int?
        let max_forwards: Int?
        let status_code: Int?
        let reason: String?
    }
    let name: String
    let file: String
    let section: String
    let valid: Bool
    let kind: String
    let liberal_accept_ok: Bool?
    let expect: Expect

    var testDescription: String { "\(name) (RFC 4475 \(section))" }
}

let tortureDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/torture")

let tortureCases: [TortureCase] = {
    guard let data = try? Data(contentsOf: tortureDirectory.appendingPathComponent("manifest.json")) else { return [] }
    return (try? JSONDecoder().decode([TortureCase].self, from: data)) ?? []
}()

func tortureBytes(_ c: TortureCase) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: tortureDirectory.appendingPathComponent(c.file)))
}

@Suite struct TortureTests {
    @Test func manifestIsLoaded() {
        #expect(tortureCases.count == 49)
    }

    /// Every valid message parses to the fields the RFC's text names, and passes validation.
    @Test(arguments: tortureCases.filter(\.valid))
    func validMessageParses(_ c: TortureCase) throws {
        let bytes = try tortureBytes(c)
        let m = try SIPMessage(parsing: bytes)
        let b = m.buffer
        #expect(m.validate() == [], "\(c.name)")
        let e = c.expect
        if c.kind == "request" {
            #expect(m.methodText == e.method)
            #expect(m.requestURI == e.request_uri)
        } else {
            #expect(m.statusCode == e.status_code)
        }
        #expect(m.callID == e.call_id)
        let cseq = try m.cseq()
        #expect(Int(cseq.number) == e.cseq?.number)
        #expect(b.string(cseq.methodRange) == e.cseq?.method)
        let vias = try m.vias()
        #expect(vias.count == e.via_count)
        let top = try m.topVia()
        #expect(b.string(top.host) == e.top_via?.host)
        #expect(top.port == e.top_via?.port)
        #expect(top.branch?.value.map(b.string) == e.top_via?.branch)
        #expect(b.string(top.transport) == e.top_via?.transport)
        #expect((try m.from()).tag(b).map(b.string) == e.from_tag)
        #expect((try m.to()).tag(b).map(b.string) == e.to_tag)
        #expect(try m.contentLength() == e.content_length)
        #expect(try m.maxForwards() == e.max_forwards)
        // Every header with a parser of its own parses.
        _ = try m.contacts()
        _ = try m.nameAddrs(.route)
        _ = try m.nameAddrs(.recordRoute)
        _ = try m.contentType()
        _ = try m.expires()
    }

    /// Every invalid message is rejected by the parser or flagged by validation, unless the
    /// RFC allows a liberal element to accept it.
    @Test(arguments: tortureCases.filter { !$0.valid })
    func invalidMessageIsRejectedOrFlagged(_ c: TortureCase) throws {
        let bytes = try tortureBytes(c)
        let rejected: Bool
        do {
            let m = try SIPMessage(parsing: bytes)
            rejected = !m.validate().isEmpty
        } catch {
            rejected = true
        }
        if c.liberal_accept_ok != true {
            #expect(rejected, "\(c.name): \(c.expect.reason ?? "")")
        }
    }
}
