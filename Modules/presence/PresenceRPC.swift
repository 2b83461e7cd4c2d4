import SwiftletSDK

/// The RPCs of Kamailio 5.6's presence module.
extension PresenceModule {
    var rpcs: [RPCCommand] {
        [
            RPCCommand(
                "presence.cleanup",
                "Manually triggers the cleanup functions for the active_watchers, presentity, and watchers tables."
            ) { _ in
                self.cleanPresentities()
                self.subscriptionTimer()
                return .string("Reload OK")
            },
            RPCCommand("presence.refreshWatchers", "Trigger refresh of watchers") {
                (r: RPCRequest) throws(RPCError) -> RPCValue in
                guard r.params.count >= 3 else { throw RPCError(500, "Not enough parameters") }
                let uri = try r.string(0)
                let event = try r.string(1)
                let type = try r.int(2)
                guard !uri.isEmpty else { throw RPCError(500, "Empty presentity URI") }
                guard !event.isEmpty else { throw RPCError(500, "Empty event parameter") }
                guard type != 2 else { throw RPCError(500, "No file uri or name parameters") }
                guard self.refreshWatchers(uri: uri, event: event, type: type) > 0 else {
                    throw RPCError(500, "Execution failed")
                }
                return .null
            },
            RPCCommand("presence.updateWatchers", "Trigger update of watchers") {
                (r: RPCRequest) throws(RPCError) -> RPCValue in
                guard r.params.count >= 2 else { throw RPCError(500, "Not enough parameters") }
                let uri = try r.string(0)
                let event = try r.string(1)
                guard !uri.isEmpty else { throw RPCError(500, "Empty presentity URI") }
                guard !event.isEmpty else { throw RPCError(500, "Empty event parameter") }
                guard self.updateWatchers(uri: uri, event: event) > 0 else { throw RPCError(500, "Processing error") }
                return .null
            },
            RPCCommand("presence.presentity_list", "List the presentity records ([\"full\"] adds more fields)") {
                (r: RPCRequest) throws(RPCError) -> RPCValue in
                let full = r.params.count > 0 && (try? r.string(0)) == "full"
                guard let presentities = self.presentities else { return .array([]) }
                do {
                    return .array(try presentities.list().map { Self.rpcValue($0, full: full) })
                } catch {
                    throw RPCError(500, "Internal error adding item")
                }
            },
        ]
    }

    static func rpcValue(_ p: Presentity, full: Bool) -> RPCValue {
        var fields: [(String, RPCValue)] = [
            ("user", .string(p.user)), ("domain", .string(p.domain)), ("event", .string(p.event)),
            ("etag", .string(p.etag)), ("sender", .string(p.sender)), ("expires", .int(p.expires)),
        ]
        if full {
            fields += [
                ("received_time", .int(p.receivedTime)), ("priority", .int(p.priority)), ("ruid", .string(p.ruid)),
                ("body", .string(String(decoding: p.body, as: UTF8.self))),
            ]
        }
        return .object(fields)
    }
}
