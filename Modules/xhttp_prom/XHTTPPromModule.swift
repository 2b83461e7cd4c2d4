import Foundation
import SwiftletSDK

/// The `xhttp_prom` module: Prometheus metrics over xhttp (Kamailio's `modules/xhttp_prom`).
/// `prom_dispatch()` in `event_route[xhttp:request]` answers with the user-defined metrics
/// (`prom_counter`, `prom_gauge`, `prom_histogram`) and the statistics `xhttp_prom_stats`
/// names, as `kamailio_<group>_<name> <value> <timestamp ms>` lines.
final class XHTTPPromModule: @unchecked Sendable {
    /// `xhttp_prom_stats`: "" none, "all", "group:" or one statistic's name.
    var stats = ""
    /// `xhttp_prom_beginning`: the prefix of every metric name.
    var beginning = "kamailio_"
    let metrics = PromMetrics()
    var xhttp: HTTPReplyAPI?

    var exports: ModuleExports {
        let e = ModuleExports(name: "xhttp_prom")
        e.parameters = [
            ModuleParameter("xhttp_prom_stats", .string { (v: String) throws(FixupError) in self.stats = v }),
            ModuleParameter("xhttp_prom_beginning", .string { (v: String) throws(FixupError) in self.beginning = v }),
            ModuleParameter("xhttp_prom_buf_size", .int { (_: Int) throws(FixupError) in }),
            ModuleParameter(
                "xhttp_prom_timeout", .int { (v: Int) throws(FixupError) in self.metrics.timeoutMinutes = max(0, v) }),
            define("prom_counter", .counter), define("prom_gauge", .gauge), define("prom_histogram", .histogram),
        ]
        e.functions = [
            ScriptFunction("prom_check_uri", parameters: 0, routes: .request) { _ in
                { ctx in ctx.message.httpURL == "/metrics" ? 1 : -1 }
            },
            ScriptFunction("prom_dispatch", parameters: 0, routes: .request) { _ in
                { ctx in self.dispatch(ctx) }
            },
        ]
        for n in 0...3 {
            e.functions.append(
                update("prom_counter_reset", 1 + n, value: false) { m, l, _ throws(PromMetrics.PromError) in
                    try m.reset(l[0], .counter, labels: Array(l.dropFirst()))
                })
            e.functions.append(
                update("prom_gauge_reset", 1 + n, value: false) { m, l, _ throws(PromMetrics.PromError) in
                    try m.reset(l[0], .gauge, labels: Array(l.dropFirst()))
                })
            e.functions.append(
                update("prom_counter_inc", 2 + n, value: true) { m, l, v throws(PromMetrics.PromError) in
                    guard let n = UInt64(v) else { throw .init("bad number: \(v)") }
                    try m.counterInc(l[0], n, labels: Array(l.dropFirst()))
                })
            e.functions.append(
                update("prom_gauge_set", 2 + n, value: true) { m, l, v throws(PromMetrics.PromError) in
                    guard let d = Double(v) else { throw .init("bad value: \(v)") }
                    try m.gaugeSet(l[0], d, labels: Array(l.dropFirst()))
                })
            e.functions.append(
                update("prom_histogram_observe", 2 + n, value: true) { m, l, v throws(PromMetrics.PromError) in
                    guard let d = Double(v) else { throw .init("bad value: \(v)") }
                    try m.observe(l[0], d, labels: Array(l.dropFirst()))
                })
        }
        e.rpcs = PromRPC(module: self).commands
        e.initialize = { context in
            self.xhttp = try context.requireAPI(HTTPReplyAPI.self, by: "xhttp_prom", from: "xhttp")
        }
        return e
    }

    private func define(_ name: String, _ kind: PromMetrics.Kind) -> ModuleParameter {
        ModuleParameter(
            name,
            .string { (v: String) throws(FixupError) in
                do throws(PromMetrics.PromError) {
                    try self.metrics.define(kind, v)
                } catch {
                    throw FixupError(error.description)
                }
            })
    }

    /// A metric function with `count` parameters: the name, the value (when `value`), then
    /// the label values; all take pseudo-variables.
    private func update(
        _ name: String, _ count: Int, value: Bool,
        _ body: @escaping (PromMetrics, [String], String) throws(PromMetrics.PromError) -> Void
    ) -> ScriptFunction {
        ScriptFunction(name, parameters: count, routes: .any) {
            (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            let formats = try args.map { a throws(FixupError) in try a.stringFormat() }
            return { ctx in
                var rendered = formats.map { $0.render(ctx) }
                let v = value ? rendered.remove(at: 1) : ""
                do {
                    try body(self.metrics, rendered, v.trimmingCharacters())
                    return 1
                } catch {
                    Log.error("xhttp_prom", "\(name): \(error)")
                    return -1
                }
            }
        }
    }

    /// The whole page (Kamailio's `prom_stats_get`).
    func page() -> String? {
        var ts = timeval()
        gettimeofday(&ts, nil)
        let ms = UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_usec) / 1000
        var out = metrics.print(prefix: beginning, timestamp: ms)
        let counters = Counters.shared
        func line(_ h: CounterHandle) -> String {
            let name = "\(beginning)\(counters.group(h))_\(counters.name(h))".replacingOccurrences(of: "-", with: "_")
            return "\(name) \(counters.value(h)) \(ms)\n"
        }
        if stats.isEmpty { return out }
        if stats == "all" {
            out += "\n# Kamailio whole internal statistics\n"
            for g in counters.groups { for h in counters.counters(inGroup: g) { out += line(h) } }
        } else if stats.hasSuffix(":") {
            guard stats.count > 1 else { return nil }
            out += "\n# Kamailio statistics for group: \(stats)\n"
            for h in counters.counters(inGroup: String(stats.dropLast())) { out += line(h) }
        } else {
            guard let h = counters.lookup(group: nil, name: stats) else {
                Log.error("xhttp_prom", "stat not found: \(stats)")
                return nil
            }
            out += "\n# Kamailio statistics for: \(stats)\n" + line(h)
        }
        return out
    }

    /// `prom_dispatch()`: answers the HTTP request with the page.
    func dispatch(_ ctx: MessageContext) -> Int {
        guard let xhttp else { return -1 }
        let type = "text/plain; version=0.0.4"
        guard let body = page() else {
            return xhttp.reply(
                ctx, code: 500, reason: "Internal Server Error", contentType: type,
                body: Array("Internal Server Error".utf8)) ? 1 : -1
        }
        return xhttp.reply(ctx, code: 200, reason: "OK", contentType: type, body: Array(body.utf8)) ? 1 : -1
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "xhttp_prom") { XHTTPPromModule().exports }
}
