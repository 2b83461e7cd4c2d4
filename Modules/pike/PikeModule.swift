import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `pike` module (Kamailio's `modules/pike`): flood detection per source address.
/// `pike_check_req()` counts the request's source IP, `pike_check_ip(ip)` any address;
/// both are false while the address sends more than `reqs_density_per_unit` requests per
/// `sampling_time_unit` seconds.
final class PikeModule: @unchecked Sendable {
    var timeUnit = 2
    var maxRequests = 30
    var removeLatency = 120
    var logLevel = LogLevel.warning
    private(set) var engine: PikeEngine?

    var exports: ModuleExports {
        let e = ModuleExports(name: "pike")
        e.parameters = [
            ModuleParameter("sampling_time_unit", .int { (v: Int) throws(FixupError) in self.timeUnit = v }),
            ModuleParameter("reqs_density_per_unit", .int { (v: Int) throws(FixupError) in self.maxRequests = v }),
            ModuleParameter("remove_latency", .int { (v: Int) throws(FixupError) in self.removeLatency = v }),
            ModuleParameter(
                "pike_log_level",
                .int { (v: Int) throws(FixupError) in self.logLevel = LogLevel(debugValue: v) }),
        ]
        let routes: RouteTypes = [.request, .onReply]
        e.functions = [
            ScriptFunction("pike_check_req", parameters: 0, routes: routes) {
                (_: [ScriptArgument]) throws(FixupError) in
                return { ctx in
                    guard let engine = self.engine else { return 1 }
                    let source = ctx.receive.source
                    return engine.check(source.addressBytes, printed: source.ipString)
                }
            },
            ScriptFunction("pike_check_ip", parameters: 1, routes: routes) {
                (args: [ScriptArgument]) throws(FixupError) in
                let ip = try args[0].stringFormat()
                return { ctx in
                    let text = ip.render(ctx)
                    guard !text.isEmpty else { return -1 }
                    guard let bytes = PikeModule.addressBytes(text) else {
                        Log.error("pike", "failed to parse ip address: \(text)")
                        return -1
                    }
                    return self.engine?.check(bytes, printed: text) ?? 1
                }
            },
        ]
        e.rpcs = [
            RPCCommand("pike.top", "pike.top Dump parts of the pike table") { r throws(RPCError) in try self.top(r) },
            RPCCommand("pike.list", "pike.top Dump parts of the pike table") { r throws(RPCError) in try self.top(r) },
        ]
        e.initialize = { context in
            Log.info("pike", "PIKE - initializing")
            let blocked = try Counters.shared.register(
                group: "pike", name: "blocked_ips", description: "Counter of blocked IP addresses",
                existingIsFine: true)
            let timers = context.core.timers
            let engine = PikeEngine(
                maxHits: self.maxRequests, timeout: self.removeLatency, logLevel: self.logLevel, blocked: blocked,
                now: { Int(timers.ticks / UInt64(Timers.ticksPerSecond)) })
            self.engine = engine
            timers.every(milliseconds: 1000, name: "pike-clean") { engine.clean() }
            timers.every(milliseconds: max(1, self.timeUnit) * 1000, name: "pike-swap") { engine.swap() }
        }
        return e
    }

    /// An IPv4 or IPv6 address as its 4 or 16 bytes, nil when it is neither.
    static func addressBytes(_ text: String) -> [UInt8]? {
        var host = Substring(text)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        var v4 = in_addr()
        if inet_pton(AF_INET, String(host), &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, String(host), &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "pike") { PikeModule().exports }
}
