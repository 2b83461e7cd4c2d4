import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A plain pthread mutex (pike's branch and timer locks).
final class PikeLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// What `mark` found (Kamailio's `NEW_NODE`, `RED_NODE`, `NEWRED_NODE`, `NO_UPDATE`).
struct PikeMark: OptionSet {
    let rawValue: UInt8
    static let newNode = PikeMark(rawValue: 1 << 0)
    static let red = PikeMark(rawValue: 1 << 1)
    static let newRed = PikeMark(rawValue: 1 << 2)
    static let noUpdate = PikeMark(rawValue: 1 << 3)
}

/// Pike's tree of IP prefixes (Kamailio's `ip_tree.c`): 256 branches by the first byte of
/// the address, each with its own lock; a node per byte of a prefix that saw enough
/// traffic, split one byte deeper when a prefix gets hot, down to whole addresses (IP
/// leaves) whose hits decide the blocking.
final class PikeTree: @unchecked Sendable {
    static let branches = 256

    let maxHits: Int
    /// The first-byte node of each branch, each slot read and written under its lock.
    private let roots: UnsafeMutablePointer<PikeNode?> = {
        let p = UnsafeMutablePointer<PikeNode?>.allocate(capacity: PikeTree.branches)
        p.initialize(repeating: nil, count: PikeTree.branches)
        return p
    }()
    private let locks = (0..<PikeTree.branches).map { _ in PikeLock() }
    /// The timer list and its lock (always taken inside a branch lock, never around one).
    var timer = PikeTimerList()
    let timerLock = PikeLock()

    init(maxHits: Int) { self.maxHits = maxHits }

    deinit {
        roots.deinitialize(count: PikeTree.branches)
        roots.deallocate()
    }

    func lock(_ branch: UInt8) { locks[Int(branch)].lock() }
    func unlock(_ branch: UInt8) { locks[Int(branch)].unlock() }
    func root(_ branch: Int) -> PikeNode? { roots[branch] }

    /// Kamailio's `mark_node`: one more hit for `ip` (4 or 16 bytes); returns the node that
    /// counts it, its father when the node was just split off, and what happened. Called
    /// with the branch `ip[0]` locked.
    func mark(_ ip: [UInt8]) -> (node: PikeNode, father: PikeNode?, mark: PikeMark) {
        var node: PikeNode? = nil
        var position = 0
        // The longest prefix of the address in the tree (a branch's root holds its first byte).
        if let root = roots[Int(ip[0])] {
            node = root
            position = 1
            while position < ip.count, let kid = node?.kids.first(where: { $0.byte == ip[position] }) {
                node = kid
                position += 1
            }
        }
        if position == ip.count, let node {
            // The whole address: an IP leaf.
            node.flags.insert(.ipLeaf)
            if node.leafHits[PikeNode.current] < PikeNode.maximumCount { node.leafHits[PikeNode.current] += 1 }
            if !node.flags.contains(.isRed) {
                if node.isHotLeaf(maxHits) {
                    node.flags.insert(.isRed)
                    return (node, nil, [.red, .newRed])
                }
                return (node, nil, [])
            }
            return (node, nil, .red)
        }
        guard let node else {
            // An empty branch: a node for the first byte.
            let first = PikeNode(byte: ip[0])
            first.hits[PikeNode.current] = 1
            first.branch = ip[0]
            roots[Int(ip[0])] = first
            return (first, nil, .newNode)
        }
        // Only a prefix was found.
        if node.hits[PikeNode.current] < PikeNode.maximumCount { node.hits[PikeNode.current] += 1 }
        if node.isHotNonLeaf(maxHits) {
            return (node.split(byte: ip[position]), node, .newNode)
        }
        // Nodes with few hits are left to expire: their timer is not renewed.
        return (node, nil, node.isWarmLeaf(maxHits) ? [] : .noUpdate)
    }

    /// Kamailio's `remove_node`: unlinks `node` (and drops its subtree). Branch locked.
    func remove(_ node: PikeNode) {
        if node.parent == nil {
            if roots[Int(node.byte)] === node { roots[Int(node.byte)] = nil }
        } else {
            node.unlinkFromParent()
        }
        node.kids.removeAll()
    }

    /// Every IP leaf (and tree leaf) with its address bytes, branch by branch, each under
    /// its lock (`pike.top`).
    func collect(_ visit: (_ address: [UInt8], _ node: PikeNode) -> Void) {
        for b in 0..<PikeTree.branches {
            lock(UInt8(b))
            if let root = roots[b] { walk(root, prefix: [], visit) }
            unlock(UInt8(b))
        }
    }

    private func walk(_ node: PikeNode, prefix: [UInt8], _ visit: ([UInt8], PikeNode) -> Void) {
        let address = prefix + [node.byte]
        visit(address, node)
        for kid in node.kids { walk(kid, prefix: address, visit) }
    }
}
