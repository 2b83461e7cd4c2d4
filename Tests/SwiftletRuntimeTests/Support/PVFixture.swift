import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK
@testable import SwiftletSIP

/// The request the pseudo-variable tests read (the same one the Kamailio 5.6.3 runs used to
/// get the expected values: `kamailio -f x.cfg -DD -E` with `xlog` lines, over UDP).
let pvTestRequest =
    [
        "OPTIONS sip:alice:pw@example.com:5070;transport=tcp;lr;x=1?h=v SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-1;rport",
        "From: \"Alice A\" <sip:alice@example.com>;tag=abc;p=q",
        "To: Bob <sip:bob@example.org;user=phone>",
        "Call-ID: cid-1@host",
        "CSeq: 7 OPTIONS",
        "Contact: <sip:alice@10.0.0.1:5062;transport=udp>;expires=60;q=0.5",
        "Content-Type: application/sdp",
        "P-Asserted-Identity: \"Pai\" <sip:pai@example.net>",
        "Diversion: <sip:div@example.net>;reason=unconditional",
        "X-Multi: one",
        "X-Multi: two",
        "X-Multi: three, four",
        "Max-Forwards: 70",
        "Content-Length: 0",
    ].joined(separator: "\r\n") + "\r\n\r\n"

/// A private pseudo-variable registry with the core's classes, and a message context to
/// evaluate them on.
struct PVFixture {
    let registry = PseudoVariableRegistry()
    let ctx: MessageContext

    init(
        _ request: String = pvTestRequest, proto: TransportProtocol = .udp, sourceIP: String = "127.0.0.1",
        localIP: String = "127.0.0.1", localPort: Int = 5060, sourcePort: Int = 5099, connectionID: Int? = nil
    ) throws {
        try CorePseudoVariables.register(in: registry)
        let msg = try SIPMessage(parsing: Array(request.utf8))
        ctx = MessageContext(
            message: msg,
            receive: ReceiveInfo(
                proto: proto, sourceIP: sourceIP, sourcePort: sourcePort, localIP: localIP, localPort: localPort,
                connectionID: connectionID))
    }

    /// The value of a PV (nil when its evaluation fails).
    func value(_ pv: String) throws -> PVValue? { try registry.compile(pv).value(ctx) }

    /// A format rendered as xlog prints it.
    func render(_ format: String) throws -> String { try StringFormat(parsing: format, registry: registry).render(ctx) }

    /// Assigns a PV (`$var(x) = value`).
    @discardableResult
    func set(_ pv: String, _ value: PVValue) throws -> Bool {
        let p = try registry.compile(pv)
        let setter = try #require(p.set, "\(pv) is read-only")
        return setter(ctx, value)
    }

    func set(_ pv: String, _ s: String) throws { try set(pv, PVValue.string(s)) }

    /// The start-up error compiling `pv`, or nil when it compiles.
    func error(_ pv: String) -> String? {
        do {
            _ = try registry.compile(pv)
            return nil
        } catch {
            return error.message
        }
    }
}
