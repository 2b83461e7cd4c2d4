import SwiftletSDK

/// Pike's checks and its two timers (Kamailio's `pike_funcs.c`): every checked request is a
/// hit on its source address in the tree; an address whose hits reach
/// `reqs_density_per_unit` in a sampling interval (or on average over the last two) turns
/// red and is reported until an interval passes below the limit; nodes nobody hit for
/// `remove_latency` seconds are removed.
final class PikeEngine: @unchecked Sendable {
    let tree: PikeTree
    /// `remove_latency`, seconds.
    let timeout: Int
    let logLevel: LogLevel
    let blocked: CounterHandle?
    /// Seconds of the core's clock (Kamailio's `get_ticks()`).
    let now: () -> Int

    init(maxHits: Int, timeout: Int, logLevel: LogLevel, blocked: CounterHandle?, now: @escaping () -> Int) {
        tree = PikeTree(maxHits: maxHits)
        self.timeout = timeout
        self.logLevel = logLevel
        self.blocked = blocked
        self.now = now
    }

    /// Kamailio's `pike_check_ipaddr`: 1 when the address may go on, -2 when it has just
    /// become red (logged and counted in `pike.blocked_ips`), -1 while it stays red.
    func check(_ ip: [UInt8], printed: @autoclosure () -> String) -> Int {
        guard let first = ip.first else { return 1 }
        tree.lock(first)
        let (node, father, mark) = tree.mark(ip)
        tree.timerLock.lock()
        if mark.contains(.newNode) {
            node.expires = now() + timeout
            tree.timer.append(node)
            node.flags.insert(.inTimer)
            // A father that has only this kid and is no IP leaf leaves the timer: it lives
            // as long as its kids.
            if let father, !father.flags.contains(.ipLeaf), father.kids.count == 1 {
                if !father.flags.contains(.expired) {
                    tree.timer.remove(father)
                    father.flags.remove(.inTimer)
                } else {
                    father.flags.remove(.expired)
                }
            }
        } else if node.flags.contains(.ipLeaf) || node.kids.isEmpty {
            // In the timer are only IP leaves and tree leaves; an expired node is left to
            // the cleaner, and few-hit prefixes are not renewed so that they expire.
            if !mark.contains(.noUpdate) && !node.flags.contains(.expired) {
                node.expires = now() + timeout
                tree.timer.moveToEnd(node)
            }
        }
        tree.timerLock.unlock()
        tree.unlock(first)
        guard mark.contains(.red) else { return 1 }
        if mark.contains(.newRed) {
            Log.log(logLevel, "pike", "PIKE - BLOCKing ip \(printed()), node=\(node.address)")
            blocked?.increment()
            return -2
        }
        return -1
    }

    /// Kamailio's `clean_routine` (every second): removes the nodes whose time is up. An IP
    /// leaf with kids (an IPv4 address inside IPv6 ones) only stops being a leaf; a last kid
    /// removed puts its father back in the timer.
    func clean() {
        let ticks = now()
        tree.timerLock.lock()
        guard let head = tree.timer.head, head.expires <= ticks else {
            tree.timerLock.unlock()
            return
        }
        let due = tree.timer.takeExpired(now: ticks)
        tree.timerLock.unlock()
        var byBranch: [UInt8: [PikeNode]] = [:]
        for node in due { byBranch[node.branch, default: []].append(node) }
        for (branch, nodes) in byBranch.sorted(by: { $0.key < $1.key }) {
            tree.lock(branch)
            for node in nodes {
                node.expires = 0
                // Hit again since (a new kid took it off the expired state): keep it.
                guard node.flags.contains(.expired) else { continue }
                node.flags.remove(.expired)
                if !node.kids.isEmpty {
                    node.flags.remove(.ipLeaf)
                    node.leafHits[PikeNode.current] = 0
                    continue
                }
                if let dad = node.parent, dad.kids.count == 1, dad.kids[0] === node,
                    !dad.flags.contains(.ipLeaf)
                {
                    tree.timerLock.withLock {
                        dad.expires = now() + timeout
                        tree.timer.append(dad)
                        dad.flags.insert(.inTimer)
                    }
                }
                tree.remove(node)
            }
            tree.unlock(branch)
        }
    }

    /// Kamailio's `swap_routine` (every `sampling_time_unit` seconds): a new sampling
    /// interval for every node.
    func swap() {
        for b in 0..<PikeTree.branches {
            tree.lock(UInt8(b))
            tree.root(b)?.refresh(maxHits: tree.maxHits, logLevel: logLevel)
            tree.unlock(UInt8(b))
        }
    }
}
