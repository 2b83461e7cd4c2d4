import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// What the core sent while a script ran (stateless replies, forwarded messages): the
/// in-memory transport installed into the configuration's context.
final class RecordingSender {
    let transport: MemoryTransport

    init(_ transport: MemoryTransport) { self.transport = transport }

    /// Each message sent, as text, with the destination port.
    var sent: [(text: String, port: Int)] { transport.sent.map { ($0.text, $0.destination.address.port) } }

    /// The first line of each reply sent, e.g. `SIP/2.0 200 OK`.
    var statusLines: [String] { transport.sent.map(\.firstLine) }
}

/// Loads configurations in this process (modules from the products directory) and runs
/// their routes on messages. The loader configures process-wide state (logging, the PV
/// registry), so loads are serialised by a lock shared by every suite using it.
enum ScriptHarness {
    private static let lock = NSLock()

    /// Globals and modules most golden configurations start with.
    static let prelude = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "xlog.so"

        """

    /// Loads configuration text as if read from `file`.
    static func load(_ text: String, file: String = "golden.cfg") throws -> LoadedConfiguration {
        lock.lock()
        defer { lock.unlock() }
        var options = CommandLineOptions()
        options.modulePath = productsDirectory
        return try ConfigurationLoader.load(text: text, file: file, options: options)
    }

    /// Loads configuration text and installs an in-memory transport into its context; what
    /// the core sends is recorded there.
    static func loadRecording(_ text: String, file: String = "golden.cfg") throws -> (
        LoadedConfiguration, RecordingSender
    ) {
        let loaded = try load(text, file: file)
        let transport = MemoryTransport(listen: loaded.core.listen, aliases: loaded.core.aliases)
        loaded.install(transport: transport)
        return (loaded, RecordingSender(transport))
    }

    /// The errors of a configuration that must be refused (`file:line:col: error: ...`);
    /// empty when it loads.
    static func errors(_ text: String, file: String = "bad.cfg") -> [String] {
        do {
            _ = try load(text, file: file)
            return []
        } catch let e as ConfigLoadError {
            return e.error.diagnostics.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    /// A SIP request with CRLF line ends.
    static func request(
        method: String = "INVITE", uri: String = "sip:alice@example.com", from: String = "<sip:bob@example.org>;tag=1",
        to: String = "<sip:alice@example.com>", cseq: Int = 1, userAgent: String? = nil,
        via: String = "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-1"
    ) -> String {
        var lines = [
            "\(method) \(uri) SIP/2.0", "Via: \(via)", "From: \(from)", "To: \(to)", "Call-ID: call-1@test",
            "CSeq: \(cseq) \(method)", "Max-Forwards: 70",
        ]
        if let userAgent { lines.append("User-Agent: \(userAgent)") }
        lines.append("Content-Length: 0")
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// A reply with CRLF line ends.
    static func reply(code: Int = 200, reason: String = "OK", method: String = "INVITE") -> String {
        [
            "SIP/2.0 \(code) \(reason)", "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1",
            "From: <sip:bob@example.org>;tag=1", "To: <sip:alice@example.com>;tag=2", "Call-ID: call-1@test",
            "CSeq: 1 \(method)", "Content-Length: 0",
        ].joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// A context for `message` received over UDP from `sourceIP:sourcePort` at 127.0.0.1:5060,
    /// in the core context `core` (a loaded configuration's).
    static func context(
        _ message: String, sourceIP: String = "192.0.2.10", sourcePort: Int = 5070, core: CoreContext
    ) throws -> MessageContext {
        let m = try SIPMessage(parsing: Array(message.utf8))
        let receive = ReceiveInfo(
            proto: .udp, sourceIP: sourceIP, sourcePort: sourcePort, localIP: "127.0.0.1", localPort: 5060)
        return MessageContext(message: m, receive: receive, core: core)
    }

    /// Loads `config` (the prelude is put first) and runs its request route on `message`.
    static func run(
        _ config: String, _ message: String = request(), sourceIP: String = "192.0.2.10", sourcePort: Int = 5070
    ) throws -> (ctx: MessageContext, replies: RecordingSender) {
        let (loaded, sender) = try loadRecording(prelude + config)
        let ctx = try context(message, sourceIP: sourceIP, sourcePort: sourcePort, core: loaded.context)
        loaded.script.runRequestRoute(ctx)
        return (ctx, sender)
    }

    /// The message flags (0-31) set in `ctx`, in order.
    static func flags(_ ctx: MessageContext) -> [Int] {
        (0..<32).filter { ctx.flags & (UInt64(1) << UInt64($0)) != 0 }
    }
}
