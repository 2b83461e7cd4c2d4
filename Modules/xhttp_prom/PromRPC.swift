import SwiftletSDK

/// Kamailio's `xhttp_prom.*` RPC commands: change a user-defined metric by name and label
/// values, or print them.
struct PromRPC {
    let module: XHTTPPromModule

    var commands: [RPCCommand] {
        let m = module.metrics
        return [
            command("xhttp_prom.counter_reset", "Set a counter to zero", value: false) {
                n, l, _ throws(PromMetrics.PromError) in
                try m.reset(n, .counter, labels: l)
            },
            command("xhttp_prom.counter_inc", "Add a number to a counter", value: true) {
                n, l, v throws(PromMetrics.PromError) in
                guard let i = UInt64(v) else { throw .init("bad number") }
                try m.counterInc(n, i, labels: l)
            },
            command("xhttp_prom.gauge_reset", "Set a gauge to zero", value: false) {
                n, l, _ throws(PromMetrics.PromError) in
                try m.reset(n, .gauge, labels: l)
            },
            command("xhttp_prom.gauge_set", "Set a gauge", value: true) { n, l, v throws(PromMetrics.PromError) in
                guard let d = Double(v) else { throw .init("bad value") }
                try m.gaugeSet(n, d, labels: l)
            },
            command("xhttp_prom.histogram_observe", "Observe a value in a histogram", value: true) {
                n, l, v throws(PromMetrics.PromError) in
                guard let d = Double(v) else { throw .init("bad value") }
                try m.observe(n, d, labels: l)
            },
            RPCCommand("xhttp_prom.metric_list_print", "Print the user-defined metrics") { _ in
                .string(m.print(prefix: module.beginning, timestamp: 0))
            },
        ]
    }

    /// A command taking the metric name, the value (when `value`) and up to three label values.
    private func command(
        _ name: String, _ doc: String, value: Bool,
        _ body: @escaping @Sendable (String, [String], String) throws(PromMetrics.PromError) -> Void
    ) -> RPCCommand {
        RPCCommand(name, doc) { r throws(RPCError) in
            var params = r.params.map { p -> String in
                switch p {
                case .string(let s): return s
                case .int(let i): return String(i)
                case .double(let d): return String(d)
                default: return ""
                }
            }
            guard params.count >= (value ? 2 : 1), params.count <= (value ? 5 : 4) else {
                throw RPCError(400, "Invalid Parameters")
            }
            let metric = params.removeFirst()
            let v = value ? params.removeFirst() : ""
            do throws(PromMetrics.PromError) {
                try body(metric, params, v)
            } catch {
                throw RPCError(500, error.description)
            }
            return .null
        }
    }
}
