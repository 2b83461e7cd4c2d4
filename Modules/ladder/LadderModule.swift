import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `ladder` module (Swiftlet's own, not in Kamailio): keeps the last messages the server
/// received and sent in a bounded ring, through the core's wire observers, and serves a live
/// ladder diagram of each call, with a JSON API, over xhttp (`ladder_handle()` in
/// `event_route[xhttp:request]`).
final class LadderModule: @unchecked Sendable {
    /// `max_messages`: how many messages the ring keeps.
    var maxMessages = 5000
    /// `max_message_bytes`: the copy of a longer message is cut there.
    var maxMessageBytes = 8192
    /// `max_calls`: how many calls the list shows at most (the most recently active).
    var maxCalls = 200
    /// `http_prefix`: the path `ladder_handle()` answers under.
    var prefix = "/ladder"
    /// `enable`: 0 records nothing.
    var enable = 1
    /// `refresh_ms`: how often the page asks for news.
    var refreshMillis = 1000
    var ring: LadderRing?
    var index: LadderIndex?
    var core: CoreContext?
    var xhttp: HTTPReplyAPI?

    var exports: ModuleExports {
        let e = ModuleExports(name: "ladder")
        e.parameters = [
            ModuleParameter("max_messages", .int { (v: Int) throws(FixupError) in self.maxMessages = try positive(v) }),
            ModuleParameter(
                "max_message_bytes", .int { (v: Int) throws(FixupError) in self.maxMessageBytes = try positive(v) }),
            ModuleParameter("max_calls", .int { (v: Int) throws(FixupError) in self.maxCalls = try positive(v) }),
            ModuleParameter(
                "http_prefix",
                .string { (v: String) throws(FixupError) in
                    guard v.hasPrefix("/") else { throw FixupError("ladder: http_prefix must start with /") }
                    self.prefix = v.count > 1 && v.hasSuffix("/") ? String(v.dropLast()) : v
                }),
            ModuleParameter("enable", .int { (v: Int) throws(FixupError) in self.enable = v }),
            ModuleParameter("refresh_ms", .int { (v: Int) throws(FixupError) in self.refreshMillis = try positive(v) }),
        ]
        e.functions = [
            ScriptFunction("ladder_handle", parameters: 0, routes: .request) { _ in
                { ctx in self.handle(ctx) }
            }
        ]
        e.rpcs = [
            RPCCommand("ladder.list", "Lists the calls in the ladder ring (optional: how many)") {
                [self] r throws(RPCError) in
                try list(r)
            },
            RPCCommand("ladder.clear", "Forgets every message in the ladder ring") { [self] _ throws(RPCError) in
                .object([("cleared", .int(ring?.clear() ?? 0))])
            },
        ]
        e.initialize = { [self] context in
            core = context.core
            xhttp = context.core.apis.lookup(HTTPReplyAPI.self)
            let r = LadderRing(capacity: maxMessages, maxBytes: maxMessageBytes)
            ring = r
            index = LadderIndex(ring: r)
        }
        // The observers are the whole hot-path cost: a timestamp, a lock, a few stores.
        e.netDataReceived = { [self] data in
            guard enable != 0, let ring, Self.isSIP(data.bytes) else { return }
            ring.record(data, received: true)
        }
        e.netDataSent = { [self] data in
            guard enable != 0, let ring, Self.isSIP(data.bytes) else { return }
            ring.record(data, received: false)
        }
        return e
    }

    /// False for what the ladder does not show: keepalives (CRLF) and HTTP requests (the
    /// ladder page's own polls, WebSocket handshakes), whose first line ends in `HTTP/1.x`.
    @inline(__always)
    static func isSIP(_ b: [UInt8]) -> Bool {
        b.withUnsafeBufferPointer { p -> Bool in
            guard p.count > 16, let base = p.baseAddress, base[0] > 32 else { return false }
            let limit = min(p.count, 1024)
            var end = limit
            if let lf = memchr(base, 10, limit) { end = UnsafeRawPointer(lf) - UnsafeRawPointer(base) }
            if end > 0, base[end - 1] == 13 { end -= 1 }
            guard end >= 8 else { return false }
            // "HTTP/1." seven bytes before the last character of the line.
            let s = end - 8
            return !(base[s] == 72 && base[s + 1] == 84 && base[s + 2] == 84 && base[s + 3] == 80 && base[s + 4] == 47)
        }
    }

    /// The addresses of this server's listeners (`ip:port`), for the page to name them.
    var localAddresses: [String] {
        var seen: [String] = []
        for s in core?.transport?.sockets ?? [] where !seen.contains(s.address.description) {
            seen.append(s.address.description)
        }
        return seen
    }

    /// `ladder.list [count]`: the calls, the most recently active first.
    func list(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        guard let index else { throw RPCError(500, "ladder not initialized") }
        let limit = (try? r.int(0)) ?? maxCalls
        let calls = index.calls(CallFilter(), limit: limit).calls
        return .array(
            calls.map { c in
                .object([
                    ("callid", .string(c.callID)), ("from_user", .string(c.fromUser)), ("to_user", .string(c.toUser)),
                    ("method", .string(c.method)), ("final_code", .int(c.finalCode)), ("last", .string(c.lastLabel)),
                    ("messages", .int(c.count)), ("first_us", .int(Int(c.firstMicros))),
                    ("last_us", .int(Int(c.lastMicros))), ("parties", .array(c.parties.map { .string($0) })),
                ])
            })
    }
}

private func positive(_ v: Int) throws(FixupError) -> Int {
    guard v > 0 else { throw FixupError("ladder: the value must be positive, not \(v)") }
    return v
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "ladder") { LadderModule().exports }
}
