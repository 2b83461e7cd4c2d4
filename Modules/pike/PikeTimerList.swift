/// Pike's timer list (Kamailio's `timer.c`): the nodes that may expire, in the order their
/// expiry was last set (each new or refreshed node goes to the end with `now + timeout`, so
/// the list stays sorted by expiry). Used under `PikeTree.timerLock`.
struct PikeTimerList {
    private(set) var head: PikeNode?
    private(set) var tail: PikeNode?

    var isEmpty: Bool { head == nil }

    /// `append_to_timer`.
    mutating func append(_ node: PikeNode) {
        node.timerPrevious = tail
        node.timerNext = nil
        if let tail { tail.timerNext = node } else { head = node }
        tail = node
        node.inTimerList = true
    }

    /// `remove_from_timer`.
    mutating func remove(_ node: PikeNode) {
        guard node.inTimerList else { return }
        if let p = node.timerPrevious { p.timerNext = node.timerNext } else { head = node.timerNext }
        if let n = node.timerNext { n.timerPrevious = node.timerPrevious } else { tail = node.timerPrevious }
        node.timerPrevious = nil
        node.timerNext = nil
        node.inTimerList = false
    }

    /// `update_in_timer`: moves the node to the end (its expiry was just renewed).
    mutating func moveToEnd(_ node: PikeNode) {
        remove(node)
        append(node)
    }

    /// `check_and_split_timer`: takes every node due at `now` (`expires <= now`) off the
    /// list, marked expired and no longer in the timer.
    mutating func takeExpired(now: Int) -> [PikeNode] {
        var due: [PikeNode] = []
        while let node = head, node.expires <= now {
            remove(node)
            node.flags.insert(.expired)
            node.flags.remove(.inTimer)
            due.append(node)
        }
        return due
    }
}
