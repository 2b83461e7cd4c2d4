import SwiftletSDK

/// rtpengine's RPCs with Kamailio's names, results and faults.
struct RtpengineRPC {
    let module: RtpengineModule

    var commands: [RPCCommand] {
        let m = module
        return [
            RPCCommand("rtpengine.reload", "Reload rtpengine proxies from database") {
                (_: RPCRequest) throws(RPCError) -> RPCValue in
                throw RPCError(500, "No Database URL")
            },
            RPCCommand("rtpengine.ping", "Ping an rtpengine instance") { (r: RPCRequest) throws(RPCError) -> RPCValue in
                let url = try Self.url(r)
                let (selection, nodes) = try Self.nodes(m, url)
                var failed = false
                for node in nodes where !selection.test(node, force: true) {
                    selection.disable(node)
                    failed = true
                }
                return .object([("url", .string(url)), ("status", .string(failed ? "fail" : "success"))])
            },
            RPCCommand("rtpengine.show", "Get details about an rtpengine instance") {
                (r: RPCRequest) throws(RPCError) -> RPCValue in
                let url = try Self.url(r)
                let (selection, nodes) = try Self.nodes(m, url)
                let now = selection.clock()
                return .array(
                    nodes.map { node in
                        let set = selection.sets.first { $0.nodes.contains { $0 === node } }?.id ?? 0
                        let recheck = node.recheckAt.load(ordering: .relaxed)
                        let permanent = recheck == EngineNode.permanent
                        return .object([
                            ("url", .string(node.url)), ("set", .int(set)), ("index", .int(node.index)),
                            ("weight", .int(node.weight)),
                            (
                                "disabled",
                                node.isPermanentlyDisabled ? .string("1(permanent)") : .int(node.isDisabled ? 1 : 0)
                            ),
                            ("recheck_ticks", permanent ? .string("N/A") : .int(max(0, recheck - now))),
                        ])
                    })
            },
            RPCCommand("rtpengine.enable", "Enable or disable an rtpengine instance") {
                (r: RPCRequest) throws(RPCError) -> RPCValue in
                guard r.params.count >= 2 else { throw RPCError(500, "Not enough parameters") }
                let url = try r.string(0)
                let flag = try r.int(1) != 0
                let (selection, nodes) = try Self.nodes(m, url)
                var status = flag ? "enable" : "disable"
                for node in nodes {
                    if flag {
                        node.recheckAt.store(0, ordering: .relaxed)
                        node.disabled.store(0, ordering: .relaxed)
                        if !selection.test(node, force: true) {
                            selection.disable(node)
                            status = "fail"
                        }
                    } else {
                        node.disabled.store(1, ordering: .relaxed)
                        node.recheckAt.store(EngineNode.permanent, ordering: .relaxed)
                    }
                }
                return .object([("url", .string(url)), ("status", .string(status))])
            },
            RPCCommand("rtpengine.get_hash_total", "Get total number of entries in hash table") {
                (_: RPCRequest) throws(RPCError) -> RPCValue in
                .int(m.selection?.calls.count ?? 0)
            },
        ]
    }

    static func url(_ r: RPCRequest) throws(RPCError) -> String {
        guard !r.params.isEmpty else { throw RPCError(500, "Not enough parameters") }
        return try r.string(0)
    }

    /// The instances `url` names (`all`: every one); 404 when none.
    static func nodes(_ m: RtpengineModule, _ url: String) throws(RPCError) -> (EngineSelection, [EngineNode]) {
        guard let selection = m.selection, !selection.sets.isEmpty else {
            throw RPCError(404, "Instance not found (no sets loaded)")
        }
        let nodes = url.hasPrefix("all") ? selection.allNodes : selection.allNodes.filter { $0.url == url }
        guard !nodes.isEmpty else { throw RPCError(404, "Instance not found") }
        return (selection, nodes)
    }
}
