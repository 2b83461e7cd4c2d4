import SwiftletSDK

/// Picks and tests rtpengine instances (Kamailio's `select_rtpp_node`, `rtpp_test`): the
/// instance that served the call, else a weighted choice by the Call-ID among the enabled
/// ones of the active set; a disabled instance is tried again after `rtpengine_disable_tout`.
final class EngineSelection: Sendable {
    struct Settings: Sendable {
        var disableTimeout = 60
        var aggressiveRedetection = 1
        var queriedNodesLimit = 50
        var allowOperation = 0
        var hashTableTimeout = 3600
    }

    let sets: [EngineSet]
    let settings: Settings
    let client: NGClient
    let calls = CallNodeTable()
    let clock: @Sendable () -> Int
    let defaultSetID: Int

    init(
        sets: [EngineSet], settings: Settings, client: NGClient, defaultSetID: Int, clock: @escaping @Sendable () -> Int
    ) {
        self.sets = sets
        self.settings = settings
        self.client = client
        self.defaultSetID = defaultSetID
        self.clock = clock
    }

    func set(_ id: Int) -> EngineSet? { sets.first { $0.id == id } }
    var allNodes: [EngineNode] { sets.flatMap(\.nodes) }

    /// Kamailio's `rtpp_test`: true when the node is (now) usable. `force` pings it whatever
    /// its state; otherwise an enabled node is not pinged and a disabled one only once its
    /// recheck time has come.
    func test(_ node: EngineNode, force: Bool) -> Bool {
        if node.isPermanentlyDisabled { return false }
        if !force {
            if !node.isDisabled { return true }
            if node.recheckAt.load(ordering: .relaxed) > clock() { return false }
        }
        guard let reply = client.send(.dictionary([("command", .text("ping"))]), to: node) else {
            disable(node)
            Log.error("rtpengine", "proxy did not respond to ping")
            return false
        }
        guard let dict = Bencode.decode(reply), dict["result"]?.stringValue == "pong" else {
            Log.error("rtpengine", "proxy responded with invalid response")
            return false
        }
        Log.info("rtpengine", "rtpengine instance <\(node.url)> found, support for it \(force ? "" : "re-")enabled")
        enable(node)
        return true
    }

    func disable(_ node: EngineNode) {
        node.disabled.store(1, ordering: .relaxed)
        node.recheckAt.store(clock() + settings.disableTimeout, ordering: .relaxed)
    }

    func enable(_ node: EngineNode) {
        node.disabled.store(0, ordering: .relaxed)
        node.recheckAt.store(0, ordering: .relaxed)
    }

    /// Kamailio's `select_rtpp_node`.
    func select(_ set: EngineSet, callID: String, branch: String, queried: [EngineNode]) -> EngineNode? {
        var node: EngineNode? = nil
        if let i = calls.node(callID, branch, now: clock()), let known = set.nodes.first(where: { $0.index == i }) {
            node = known
        } else {
            node = selectNew(set, callID: callID, queried: queried)
        }
        guard let node else {
            Log.error("rtpengine", "rtpengine failed to select new for calllen=\(callID.utf8.count) callid=\(callID)")
            return nil
        }
        if !node.isDisabled { return node }
        if settings.allowOperation != 0, node.isPermanentlyDisabled || settings.allowOperation == 1 { return node }
        return nil
    }

    /// Kamailio's `select_rtpp_node_new` with `hash_algo` 0: the byte sum of the Call-ID
    /// (mod 256) picks among the weights of the enabled instances not yet queried.
    private func selectNew(_ set: EngineSet, callID: String, queried: [EngineNode]) -> EngineNode? {
        var sum = 0
        for byte in callID.utf8 { sum &+= Int(Int8(bitPattern: byte)) }
        sum &= 0xFF
        var forced = false
        while true {
            var weights = 0
            for node in set.nodes {
                if node.isDisabled, node.recheckAt.load(ordering: .relaxed) <= clock() { _ = test(node, force: false) }
                if !node.isDisabled, !queried.contains(where: { $0 === node }) { weights += node.weight }
            }
            if weights == 0 {
                guard settings.aggressiveRedetection != 0, !forced else { return nil }
                forced = true
                for node in set.nodes { _ = test(node, force: true) }
                continue
            }
            var cut = sum % weights
            for node in set.nodes where !node.isDisabled && !queried.contains(where: { $0 === node }) {
                if cut < node.weight { return node }
                cut -= node.weight
            }
            return nil
        }
    }
}
