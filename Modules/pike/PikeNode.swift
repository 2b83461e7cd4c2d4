import SwiftletSDK

/// One node of pike's IP tree (Kamailio's `pike_ip_node_t`): one byte of an address, its
/// hit counts for the previous and the current sampling interval, and its place in the tree
/// and in the timer list. Used only under its branch's lock (tree fields) and the timer
/// list's lock (timer fields).
final class PikeNode {
    /// Kamailio's `NODE_*_FLAG`s.
    struct Flags: OptionSet {
        let rawValue: UInt16
        static let expired = Flags(rawValue: 1 << 0)
        static let inTimer = Flags(rawValue: 1 << 1)
        static let ipLeaf = Flags(rawValue: 1 << 2)
        static let isRed = Flags(rawValue: 1 << 3)
    }

    /// `PREV_POS` and `CURR_POS`.
    static let previous = 0
    static let current = 1
    /// The largest count kept (`MAX_TYPE_VAL(unsigned short) - 1`).
    static let maximumCount: UInt16 = 0xFFFE

    let byte: UInt8
    /// The first byte of the address: the branch (and lock) this node belongs to.
    var branch: UInt8 = 0
    var expires = 0
    /// Requests from addresses below this prefix (non-leaf hits).
    var hits: [UInt16] = [0, 0]
    /// Requests from exactly this address (IP-leaf hits).
    var leafHits: [UInt16] = [0, 0]
    var flags: Flags = []
    /// The father (nil for the first byte of a branch).
    unowned(unsafe) var parent: PikeNode?
    /// The children, newest first (Kamailio inserts at the head of the kids list).
    var kids: [PikeNode] = []
    /// The timer list links (nil when not in the list).
    var timerPrevious: PikeNode?
    var timerNext: PikeNode?
    /// In the timer list (Kamailio's `has_timer_set`).
    var inTimerList = false

    init(byte: UInt8) { self.byte = byte }

    /// Kamailio's `new_ip_node`/`split_node`: a child for `byte`, inheriting one hit less
    /// than its father (see the README's "Differences" on leaf hits).
    func split(byte: UInt8) -> PikeNode {
        let child = PikeNode(byte: byte)
        if hits[Self.current] >= 1 { child.hits[Self.current] = hits[Self.current] - 1 }
        kids.insert(child, at: 0)
        child.branch = branch
        child.parent = self
        return child
    }

    /// Unlinks this node from its father (or from the branch root, done by the tree).
    func unlinkFromParent() {
        guard let parent else { return }
        parent.kids.removeAll { $0 === self }
        self.parent = nil
    }

    /// `refresh_node`: the current interval becomes the previous one, for this node and
    /// its subtree; a red node that is no longer hot is unblocked.
    func refresh(maxHits: Int, logLevel: LogLevel) {
        hits[Self.previous] = hits[Self.current]
        hits[Self.current] = 0
        leafHits[Self.previous] = leafHits[Self.current]
        leafHits[Self.current] = 0
        if flags.contains(.isRed) && !isHotLeaf(maxHits) {
            flags.remove(.isRed)
            Log.log(logLevel, "pike", "PIKE - UNBLOCKing node \(address)")
        }
        for kid in kids { kid.refresh(maxHits: maxHits, logLevel: logLevel) }
    }

    /// The node's address as printed in Kamailio's log lines (`%p`).
    var address: String { "0x" + String(UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()), radix: 16) }

    // MARK: Kamailio's is_hot_leaf, is_hot_non_leaf, is_warm_leaf

    func isHotLeaf(_ maxHits: Int) -> Bool {
        let p = Int(leafHits[Self.previous])
        let c = Int(leafHits[Self.current])
        return p >= maxHits || c >= maxHits || (p + c) >> 1 >= maxHits
    }

    func isHotNonLeaf(_ maxHits: Int) -> Bool {
        let p = Int(hits[Self.previous])
        let c = Int(hits[Self.current])
        let limit = maxHits >> 2
        return p >= limit || c >= limit || (p + c) >> 1 >= limit
    }

    func isWarmLeaf(_ maxHits: Int) -> Bool { Int(hits[Self.current]) >= maxHits >> 2 }

    /// `node_status`: HOT, WARM or OK.
    func status(_ maxHits: Int) -> PikeNodeStatus {
        if isHotLeaf(maxHits) { return .hot }
        if isWarmLeaf(maxHits) { return .warm }
        return .ok
    }
}

/// Kamailio's `pike_node_status_t` with the names `pike.top` prints.
enum PikeNodeStatus: Int {
    case ok = 0
    case warm = 1
    case hot = 2

    var name: String {
        switch self {
        case .ok: ""
        case .warm: "WARM"
        case .hot: "HOT"
        }
    }
}
