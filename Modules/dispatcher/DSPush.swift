import SwiftletSDK

/// What a selection writes into the message: `$du` or the R-URI host, the branches of
/// algorithm 12, and the XAVP records and count that failover reads.
extension DispatcherModule {
    /// Kamailio's `ds_push_dst`: `$du` (and the Request-URI counts as new for forking), or the
    /// Request-URI's host part; the destination's socket is forced.
    func push(_ ctx: MessageContext, _ uri: String, _ socket: ListeningSocket?, _ mode: DSUpdateMode) -> Bool {
        switch mode {
        case .requestURI:
            var host = Substring(uri)
            if host.count > 4, host.lowercased().hasPrefix("sip:") {
                host = host.dropFirst(4)
            } else if host.count > 5, host.lowercased().hasPrefix("sips:") {
                host = host.dropFirst(5)
            }
            guard let current = ctx.requestURI, let new = try? URIRewrite.apply(.hostAll(String(host)), to: current)
            else {
                Log.error("dispatcher", "error while setting r-uri domain with: \(uri)")
                return false
            }
            ctx.newRequestURI = new
        case .xavp: return true
        case .destinationURI:
            ctx.destinationURI = uri
        }
        if let socket { ctx.forcedSendSocket = socket }
        return true
    }

    /// Kamailio's `ds_add_branches` (algorithm 12): a branch per further destination, with
    /// `$du` set to it, or with the R-URI user at its host.
    func addBranches(_ ctx: MessageContext, _ dests: [DSDestination], _ mode: DSUpdateMode) -> Bool {
        let user = ctx.requestURI.flatMap { SIPURI($0)?.user }
        for d in dests {
            if mode == .requestURI {
                if let user, !user.isEmpty {
                    let uri: String
                    if d.uri.hasPrefix("sips:") {
                        uri = "sips:\(user)@" + d.uri.dropFirst(5)
                    } else if d.uri.hasPrefix("sip:") {
                        uri = "sip:\(user)@" + d.uri.dropFirst(4)
                    } else {
                        Log.warning("dispatcher", "unsupported protocol schema - ignoring")
                        continue
                    }
                    ctx.branches.append(Branch(uri: uri, sendSocket: d.socket))
                } else {
                    ctx.branches.append(Branch(uri: d.uri, sendSocket: d.socket))
                }
            } else {
                ctx.branches.append(Branch(uri: ctx.requestURI ?? "", destinationURI: d.uri, sendSocket: d.socket))
            }
        }
        return true
    }

    /// Kamailio's `ds_add_xavp_record` fields: `uri`, `grp`, `attrs` (unless `xavp_dst_mode`
    /// 1), `sock` (the socket as `proto:ip:port`), `socket`/`sockname` (modes 2 and 4), the
    /// newest field first. `dstid` (call load) is added per call by `addRecord`.
    static func failoverFields(_ d: DSDestination, set: Int, xavpDstMode: Int) -> [XAVP] {
        var fields: [XAVP] = [XAVP(name: "uri", value: .string(d.uri)), XAVP(name: "grp", value: .int(set))]
        if xavpDstMode & 1 == 0 && !d.attrs.body.isEmpty {
            fields.append(XAVP(name: "attrs", value: .string(d.attrs.body)))
        }
        if let s = d.socket {
            fields.append(XAVP(name: "sock", value: .string(s.socketString)))
            if xavpDstMode & 2 != 0 && !d.attrs.socket.isEmpty {
                fields.append(XAVP(name: "socket", value: .string(d.attrs.socket)))
            }
            if xavpDstMode & 4 != 0 && !d.attrs.sockname.isEmpty {
                fields.append(XAVP(name: "sockname", value: .string(d.attrs.sockname)))
            }
        }
        return fields.reversed()
    }

    /// Kamailio's `ds_add_xavp_record`: the precomputed fields of destination `index` of
    /// `destinations` (plus `dstid` with call load, as the newest field); the record goes
    /// after the previous one. The destination is read in place (a copy would retain each of
    /// its strings).
    func addRecord(
        _ ctx: MessageContext, _ destinations: [DSDestination], _ index: Int, set: Int, alg: Int,
        state: inout DSSelectState
    ) -> Bool {
        var fields = destinations[index].failoverFields
        if alg == DSAlgorithm.callLoad {
            let duid = destinations[index].attrs.duid
            guard !duid.isEmpty else {
                Log.error("dispatcher", "no uid for destination: \(set) \(destinations[index].uri)")
                return false
            }
            fields.insert(XAVP(name: "dstid", value: .string(duid)), at: 0)
        }
        let at = min(state.insertAt, ctx.xavps.count)
        ctx.xavps.insert(XAVP(name: settings.xavpDst, value: .list(fields)), at: at)
        state.insertAt = at + 1
        state.count += 1
        return true
    }

    /// `xavp_ctx=>cnt`: how many records the selection added (unless `xavp_ctx_mode` 1).
    func addCount(_ ctx: MessageContext, _ count: Int) {
        guard settings.xavpCtxMode & 1 == 0, !settings.xavpCtx.isEmpty else { return }
        ctx.xavps.insert(XAVP(name: settings.xavpCtx, value: .list([XAVP(name: "cnt", value: .int(count))])), at: 0)
    }
}
