import SwiftletSDK

/// tm's blocklist parameters (`blst_503`, `blst_503_def_timeout`, `blst_503_min_timeout`,
/// `blst_503_max_timeout`, `blst_methods_add`, `blst_methods_lookup`), seconds and method bits
/// as in Kamailio 5.6.
struct BlocklistSettings {
    var add503 = false
    var default503 = 0
    var min503 = 0
    var max503 = 3600
    /// Methods whose timeouts blocklist the destination (INVITE).
    var methodsAdd = 1
    /// Methods that are not sent to a blocklisted destination (all but BYE).
    var methodsLookup = 4_294_967_287
}

extension SIPMethod {
    /// Kamailio's `METHOD_*` bit (`blst_methods_add`, `blst_methods_lookup`).
    var kamailioBit: Int {
        switch self {
        case .invite: 1
        case .cancel: 2
        case .ack: 4
        case .bye: 8
        case .info: 16
        case .register: 32
        case .subscribe: 64
        case .notify: 128
        case .message: 256
        case .options: 512
        case .prack: 1024
        case .update: 2048
        case .refer: 4096
        case .publish: 8192
        case .kdmq: 16384
        case .other(let name):
            switch name {
            case "GET": 32768
            case "POST": 65536
            case "PUT": 131_072
            case "DELETE": 262_144
            default: 524_288
            }
        }
    }
}

extension TransactionManager {
    /// DNS failover is on for `tx` (`use_dns_failover`, not `t_set_disable_failover()`).
    func failoverEnabled(_ tx: Transaction) -> Bool {
        destinationPolicy?.useDNSFailover == true && tx.options.disableFailover != true
    }

    /// The blocklist when `method` is looked up in it (`blst_methods_lookup`).
    private func lookupBlocklist(_ tx: Transaction) -> DestinationBlocklist? {
        guard let list = destinationPolicy?.blocklist,
            settings.blocklist.methodsLookup & (tx.ctx.message.method?.kamailioBit ?? 0) != 0
        else { return nil }
        return list
    }

    /// Where a branch for `uri` goes and, with DNS failover, the addresses left to try after
    /// it; blocklisted addresses are skipped. Nil (logged) when none is left.
    func branchDestinations(_ tx: Transaction, uri: String) throws(NextHop.Failure) -> (Destination, [Destination])? {
        // The common case (no failover, no blocklist) allocates nothing more than t_relay did.
        guard let policy = destinationPolicy, policy.useDNSFailover || policy.blocklist != nil else {
            return (try NextHop.destination(forURI: uri, resolver: core.resolver), [])
        }
        let all: [Destination]
        if failoverEnabled(tx) {
            all = try NextHop.destinations(forURI: uri, resolver: core.resolver)
        } else {
            all = [try NextHop.destination(forURI: uri, resolver: core.resolver)]
        }
        guard let list = lookupBlocklist(tx) else { return (all[0], Array(all.dropFirst())) }
        guard let i = all.firstIndex(where: { !list.contains($0.proto, $0.address) }) else {
            Log.error("tm", "not relaying to <\(uri)>: \(all[0]) is blocklisted")
            return nil
        }
        return (all[i], Array(all[(i + 1)...]))
    }

    /// A branch ended without any reply: its destination is blocklisted for INVITEs
    /// (`blst_methods_add`), and with DNS failover a new branch goes to its next address
    /// while the transaction is within its lifetime. Lock held.
    func branchTimedOutWithoutReply(_ tx: Transaction, _ b: ClientBranch) {
        if let list = destinationPolicy?.blocklist,
            settings.blocklist.methodsAdd & (tx.ctx.message.method?.kamailioBit ?? 0) != 0
        {
            list.add(b.destination.proto, b.destination.address)
        }
        if !tx.expired { _ = failover(tx, from: b) }
    }

    /// A 503 on branch `b`: its source is blocklisted with `blst_503` (for `Retry-After`
    /// seconds within `blst_503_min_timeout`..`blst_503_max_timeout`, else
    /// `blst_503_def_timeout`), and with DNS failover a new branch goes to the next address.
    /// Lock held.
    func branchGot503(_ tx: Transaction, _ b: ClientBranch, _ rctx: MessageContext) {
        let s = settings.blocklist
        if s.add503, let list = destinationPolicy?.blocklist {
            var seconds = s.default503
            if let h = rctx.message.firstHeader(.retryAfter),
                let v = Int(rctx.message.buffer.tmText(h.valueRange).prefix { $0.isNumber })
            {
                seconds = min(max(v, s.min503), s.max503)
            }
            if seconds > 0 { list.add(rctx.receive.proto, rctx.receive.source, seconds: seconds) }
        }
        _ = failover(tx, from: b)
    }

    /// A new branch for `b`'s request on the next address of its next hop that is not
    /// blocklisted (Kamailio's `add_uac_dns_fallback` with `reparse_on_dns_failover`: the
    /// request as sent, with the new branch's Via branch; no branch route). True when one
    /// was sent. Lock held.
    func failover(_ tx: Transaction, from b: ClientBranch) -> Bool {
        guard failoverEnabled(tx), !b.alternatives.isEmpty, !tx.finished || tx.lastReplyCode < 200,
            let transport = core.transport
        else { return false }
        let oldBranch = TransactionKey.branch(label: tx.label, id: tx.id, index: b.index)
        var remaining = b.alternatives
        b.alternatives = []
        let blocklist = lookupBlocklist(tx)
        while !remaining.isEmpty {
            var dst = remaining.removeFirst()
            if let blocklist, blocklist.contains(dst.proto, dst.address) { continue }
            let index = tx.branches.count
            let newBranch = TransactionKey.branch(label: tx.label, id: tx.id, index: index)
            guard let bytes = Self.replacing(oldBranch, with: newBranch, in: b.request.bytes),
                let socket = (b.destination.socket.flatMap { $0.proto == dst.proto ? $0 : nil })
                    ?? transport.sendSocket(
                        for: dst.proto, to: dst.address, received: tx.ctx.receive.socket, forced: nil)
            else { continue }
            dst.socket = socket
            dst.flags = b.destination.flags
            guard let copy = SharedBytes(bytes, in: core.memory) else { return false }
            tx.sendQueuedNow()
            let outcome = core.send(OutboundMessage(bytes: bytes, destination: dst, kind: .request), context: nil)
            guard outcome == .sent else {
                destinationPolicy?.blocklist?.add(dst.proto, dst.address)
                continue
            }
            Log.info("tm", "DNS failover: branch \(index) of \(tx.ctx.message.callID ?? "") to \(dst)")
            let branch = ClientBranch(index: index, uri: b.uri, destination: dst, request: copy)
            branch.flags = b.flags
            branch.binding = b.binding
            branch.onBranchFailure = b.onBranchFailure
            branch.alternatives = remaining
            tx.branches.append(branch)
            startTimers(tx, branch)
            return true
        }
        return false
    }

    /// `bytes` with the first `old` replaced by `new`, or nil when `old` is not there.
    static func replacing(_ old: String, with new: String, in bytes: [UInt8]) -> [UInt8]? {
        let o = Array(old.utf8)
        guard o.count <= bytes.count else { return nil }
        var i = 0
        while i + o.count <= bytes.count {
            if bytes[i] == o[0], Array(bytes[i..<(i + o.count)]) == o {
                var out = Array(bytes[..<i])
                out += Array(new.utf8)
                out += bytes[(i + o.count)...]
                return out
            }
            i += 1
        }
        return nil
    }
}
