import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// An embedded core with a database driver, sl, textops and the module under test, whose
/// request route reports what it found in `X-` headers of its reply (the database modules'
/// tests: permissions, domain, alias_db, speeddial).
struct DBModuleTestCore {
    let core: EmbeddedCore

    init(_ engine: DatabaseEngine, module: String, params: String, route: String) throws {
        core = try EmbeddedCore(
            config: """
                listen=udp:127.0.0.1:5060
                loadmodule "\(engine.module).so"
                loadmodule "sl.so"
                loadmodule "pv.so"
                loadmodule "textops.so"
                loadmodule "\(module).so"
                modparam("\(module)", "db_url", "\(try engine.url())")
                \(params)
                request_route {
                \(route)
                    sl_send_reply("200", "OK");
                }
                """, modulePath: productsDirectory)
    }

    /// Runs the route on `request` received from `source`; the reply's `X-` headers
    /// (name → values in order).
    func run(_ request: String, from source: String = "192.0.2.10:5070", proto: TransportProtocol = .udp)
        -> [String: [String]]
    {
        core.receive(request, from: source, proto: proto)
        var out: [String: [String]] = [:]
        for sent in core.takeSent() {
            for line in sent.text.split(separator: "\r\n") where line.hasPrefix("X-") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                out[String(line[..<colon]), default: []].append(
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
            }
        }
        return out
    }

    func rpc(_ method: String, _ params: [RPCValue] = []) -> Result<RPCValue, RPCError> {
        core.context.rpcs.call(RPCRequest(method: method, params: params))
    }

    func shutdown() { core.shutdown() }

    /// A request with CRLF line ends.
    static func request(
        method: String = "INVITE", uri: String, from: String = "sip:alice@example.com", to: String? = nil,
        contacts: [String] = []
    ) -> String {
        var lines = [
            "\(method) \(uri) SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-\(UUID().uuidString)",
            "From: <\(from)>;tag=1", "To: <\(to ?? uri)>", "Call-ID: \(UUID().uuidString)@test",
            "CSeq: 1 \(method)", "Max-Forwards: 70",
        ]
        for c in contacts { lines.append("Contact: \(c)") }
        lines.append("Content-Length: 0")
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }
}
