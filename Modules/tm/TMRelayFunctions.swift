import SwiftletSDK

/// `t_relay_to()` flags (Kamailio 5.6's `w_t_relay_to`).
struct RelayFlags: OptionSet {
    let rawValue: Int
    /// 0x01: no automatic `100 Trying` for an INVITE.
    static let noAutoTrying = RelayFlags(rawValue: 0x01)
    /// 0x02: no automatic negative reply when nothing could be sent (`t_relay` returns -4).
    static let noInternalReply = RelayFlags(rawValue: 0x02)
    /// 0x04: no DNS failover.
    static let noDNSFailover = RelayFlags(rawValue: 0x04)

    /// A constant flags argument as Kamailio's `fixup_t_relay_to` reads it: decimal, or hex
    /// after `0x`; nil when the text is neither.
    init?(text: String) {
        let t = text.trimmingCharacters()
        if t.count > 2, t.hasPrefix("0x") {
            guard let v = Int(t.dropFirst(2), radix: 16) else { return nil }
            rawValue = v
        } else {
            guard let v = Int(t) else { return nil }
            rawValue = v
        }
    }

    init(rawValue: Int) { self.rawValue = rawValue }
}

extension TMModule {
    /// `t_relay_to()`, `t_relay_to(proxy | flags)`, `t_relay_to(proxy, flags)`, and the
    /// per-transaction switches the flags stand for.
    var relayFunctions: [ScriptFunction] {
        let m = manager
        return [
            ScriptFunction("t_relay_to", parameters: 0...2, routes: [.request, .failure]) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                var proxy: ProtoHostPort?
                var flags = RelayFlags()
                if args.count == 2 {
                    let p = try args[0].constantString()
                    guard let parsed = ProtoHostPort(p) else {
                        throw FixupError("t_relay_to: invalid proxy address '\(p)'", at: args[0].location)
                    }
                    proxy = parsed
                    let f = try args[1].constantString()
                    guard let parsedFlags = RelayFlags(text: f) else {
                        throw FixupError("t_relay_to: invalid flags '\(f)'", at: args[1].location)
                    }
                    flags = parsedFlags
                } else if let a = args.first {
                    let text = try a.constantString()
                    if let parsedFlags = RelayFlags(text: text) {
                        flags = parsedFlags
                    } else if let parsed = ProtoHostPort(text) {
                        proxy = parsed
                    } else {
                        throw FixupError("t_relay_to: invalid proxy address '\(text)'", at: a.location)
                    }
                }
                return { ctx in
                    m.applyRelayFlags(flags)
                    guard let proxy else { return m.relay(ctx) }
                    do throws(NextHop.Failure) {
                        let target = try NextHop.resolve(
                            proxy.host, port: proxy.port == 0 ? nil : proxy.port, proto: proxy.proto)
                        return m.relay(ctx, forced: Destination(proto: target.proto, address: target.address))
                    } catch {
                        Log.error("tm", "t_relay_to: \(error)")
                        return -1
                    }
                }
            },
            Self.optionSetter("t_set_auto_inv_100", routes: .request) { o, v in o.autoInv100 = v != 0 },
            Self.optionSetter("t_set_disable_internal_reply") { o, v in o.disableInternalReply = v != 0 },
            Self.optionSetter("t_set_disable_failover") { o, v in o.disableFailover = v != 0 },
        ]
    }

    /// A per-transaction switch: on the transaction when it exists, else for the one the
    /// current request creates (Kamailio's `T_SET_FLAG_GEN_FUNC`). Always 1.
    static func optionSetter(
        _ name: String, routes: RouteTypes = [.request, .failure, .tmOnReply, .branch],
        _ set: @escaping (inout TransactionOptions, Int) -> Void
    ) -> ScriptFunction {
        ScriptFunction(name, parameters: 1, routes: routes) {
            (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            let value = try args[0].intParameter()
            return { ctx in
                guard let v = value.value(ctx) else { return -1 }
                let s = TMThreadState.thread
                if let tx = s.current { tx.locked { set(&tx.options, v) } } else { set(&s.options, v) }
                return 1
            }
        }
    }
}

extension TransactionManager {
    /// What `t_relay_to()`'s flags switch, for the current or the next transaction.
    func applyRelayFlags(_ flags: RelayFlags) {
        guard !flags.isEmpty else { return }
        let s = TMThreadState.thread
        func apply(_ o: inout TransactionOptions) {
            if flags.contains(.noAutoTrying) { o.autoInv100 = false }
            if flags.contains(.noInternalReply) { o.disableInternalReply = true }
            if flags.contains(.noDNSFailover) { o.disableFailover = true }
        }
        if let tx = s.current { tx.locked { apply(&tx.options) } } else { apply(&s.options) }
    }
}
