import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

extension PikeModule {
    /// `pike.top [ALL|HOT|WARM]` (also `pike.list`): the addresses in the tree with their
    /// hits, seconds left and status, as Kamailio's
    /// `{max_hits, list: [{ip_addr, leaf_hits_prev, leaf_hits_curr, expires, status}], number_of_rows}`.
    /// HOT (the default) lists the red IP leaves, ALL every IP leaf, WARM the leaves that
    /// are warm or hot (Kamailio lists nothing for WARM).
    func top(_ r: RPCRequest) throws(RPCError) -> RPCValue {
        let option = ((try? r.string(0)) ?? "HOT").uppercased()
        let wanted: Set<PikeNodeStatus>
        if option.contains("ALL") {
            wanted = [.ok, .warm, .hot]
        } else if option.contains("HOT") {
            wanted = [.hot]
        } else if option.contains("WARM") {
            wanted = [.warm, .hot]
        } else {
            throw RPCError(500, "Bad argument. Select: ALL, HOT or WARM")
        }
        guard let engine else { throw RPCError(500, "pike is not initialised") }
        let tree = engine.tree
        let now = engine.now()
        var rows: [RPCValue] = []
        tree.collect { address, node in
            guard node.flags.contains(.ipLeaf) else { return }
            let status = node.status(tree.maxHits)
            guard wanted.contains(status) else { return }
            rows.append(
                .object([
                    ("ip_addr", .string(PikeModule.printed(address))),
                    ("leaf_hits_prev", .int(Int(node.leafHits[PikeNode.previous]))),
                    ("leaf_hits_curr", .int(Int(node.leafHits[PikeNode.current]))),
                    ("expires", .int(max(0, node.expires - now))),
                    ("status", .string(status.name)),
                ]))
        }
        // Kamailio's list is built by inserting at the head.
        rows.reverse()
        return .object([
            ("max_hits", .int(tree.maxHits)), ("list", .array(rows)), ("number_of_rows", .int(rows.count)),
        ])
    }

    /// An address as `pike_top_print_addr` prints it (inet_ntop for 4 and 16 bytes).
    static func printed(_ address: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = address.count == 4 ? AF_INET : address.count == 16 ? AF_INET6 : -1
        guard family >= 0 else { return address.map { String($0) }.joined(separator: ".") }
        _ = address.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(cString: buffer)
    }
}
