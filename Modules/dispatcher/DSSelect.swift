import SwiftletSDK

/// Update modes of the selection functions (Kamailio's `DS_SETOP_*`).
enum DSUpdateMode: Int {
    /// `$du` (`ds_select_dst`, `ds_next_dst`).
    case destinationURI = 0
    /// The host part of the Request-URI (`ds_select_domain`, `ds_next_domain`).
    case requestURI = 1
    /// Only the XAVPs (`ds_select`).
    case xavp = 2
}

/// One selection run (Kamailio's `ds_select_state_t`).
struct DSSelectState {
    var setid = 0
    var alg = 0
    var mode = DSUpdateMode.destinationURI
    var limit: UInt32 = .max
    /// Records added to the XAVP list.
    var count = 0
    /// Whether `$du`/R-URI was set.
    var updated = false
    /// Where the next record goes in `ctx.xavps` (after the previous one).
    var insertAt = 0
}

/// What a selection decided under the list lock, applied to the message after it: indexes
/// into the set's destinations as they were (a shared copy, no destination copied).
private struct DSSelection {
    var destinations: [DSDestination]
    var chosenIndex: Int
    /// Indexes of the destinations that get failover records, in order.
    var records: [Int] = []
    var branches: [DSDestination] = []
    var alg: Int
}

/// Algorithms (Kamailio's `DS_ALG_*`).
enum DSAlgorithm {
    static let hashCallID = 0, hashFrom = 1, hashTo = 2, hashRURI = 3, roundRobin = 4, hashAuth = 5
    static let random = 6, hashPV = 7, serial = 8, weight = 9, callLoad = 10, relativeWeight = 11
    static let parallel = 12, latency = 13
}

extension DispatcherModule {
    /// Kamailio's `ds_manage_routes`: picks a destination of `state.setid` with `state.alg`,
    /// sets `$du` or the R-URI host (or nothing in XAVP mode), and with failover (`flags` 2)
    /// lists the selected and the other usable destinations in the `xavp_dst` XAVPs.
    func manageRoutes(_ ctx: MessageContext, _ state: inout DSSelectState) -> Int {
        if state.mode == .destinationURI && settings.forceDst == 0 && ctx.destinationURI != nil {
            Log.error("dispatcher", "destination already set [\(ctx.destinationURI ?? "")]")
            return -1
        }
        // Hashes that read the message are computed before the lock.
        var hash: UInt32 = 0
        var needsRoundRobin = false
        var alg = state.alg
        switch alg {
        case DSAlgorithm.hashCallID:
            guard let h = DSHash.callID(ctx) else { return fail("can't get callid hash") }
            hash = h
        case DSAlgorithm.hashFrom:
            guard let h = DSHash.from(ctx, userOnly: settings.hashUserOnly) else {
                return fail("can't get From uri hash")
            }
            hash = h
        case DSAlgorithm.hashTo:
            guard let h = DSHash.to(ctx, userOnly: settings.hashUserOnly) else { return fail("can't get To uri hash") }
            hash = h
        case DSAlgorithm.hashRURI:
            guard let h = DSHash.requestURI(ctx, userOnly: settings.hashUserOnly) else {
                return fail("can't get ruri hash")
            }
            hash = h
        case DSAlgorithm.hashAuth:
            switch DSHash.authUser(ctx) {
            case .hash(let h): hash = h
            case .none: needsRoundRobin = true
            }
        case DSAlgorithm.random: hash = UInt32.random(in: 0...UInt32(Int32.max))
        case DSAlgorithm.hashPV:
            guard let h = DSHash.pv(ctx, hashFormat) else { return fail("can't get PV hash") }
            hash = h
        case DSAlgorithm.callLoad:
            if ctx.message.method != .invite {
                alg = 0
            } else if settings.xavpDst.isEmpty {
                Log.error("dispatcher", "no dst xavp for load distribution - using first entry...")
                alg = 0
            }
        default: break
        }
        // Only call load reads the Call-ID.
        let callID = alg == DSAlgorithm.callLoad ? ctx.message.callID ?? "" : ""
        let useDefault = settings.useDefault != 0
        let failover = settings.failover && !settings.xavpDst.isEmpty
        let limit = state.limit
        let startCount = state.count
        var failure: String?
        let selection: DSSelection? = list.withLock { list -> DSSelection? in
            guard !list.isEmpty else {
                failure = "no destination sets"
                return nil
            }
            guard let p = list.position(of: state.setid) else {
                failure = "destination set [\(state.setid)] not found"
                return nil
            }
            // Moved out and back (not copied), so that changing a destination (call load)
            // does not copy the whole array.
            var set = DSSet(id: 0, destinations: [])
            swap(&set, &list.sets[p])
            defer { swap(&set, &list.sets[p]) }
            let nr = set.count
            var updateLast = false
            var seenLast = 0
            var filled = false
            var records: [Int] = []
            switch alg {
            case DSAlgorithm.roundRobin:
                needsRoundRobin = true
            case DSAlgorithm.serial, DSAlgorithm.parallel:
                hash = 0
            case DSAlgorithm.weight:
                hash = set.wlist.isEmpty ? 0 : UInt32(set.wlist[set.wlast])
                set.wlast = (set.wlast + 1) % 100
            case DSAlgorithm.relativeWeight:
                hash = set.rwlist.isEmpty ? 0 : UInt32(set.rwlist[set.rwlast])
                set.rwlast = (set.rwlast + 1) % 100
            case DSAlgorithm.callLoad:
                guard let i = Self.leastLoaded(set) else {
                    failure = ""
                    return nil
                }
                hash = UInt32(i)
                let duid = set.destinations[i].attrs.duid
                if duid.isEmpty {
                    Log.error("dispatcher", "dst unique id not set for \(set.id) (\(callID))")
                    alg = 0
                } else if let loads, loads.add(callID: callID, duid: duid, set: set.id) {
                    set.destinations[i].dload += 1
                } else {
                    Log.error("dispatcher", "unable to update destination load - classic dispatching")
                    alg = 0
                }
            case DSAlgorithm.latency:
                let (h, ordered) = Self.latencyOrder(&set, useDefault: useDefault)
                guard h >= 0 else {
                    failure = ""
                    return nil
                }
                hash = UInt32(h)
                filled = true
                if failover {
                    for i in ordered where records.count + startCount < Int(limit) { records.append(i) }
                }
            default:
                if !(0...DSAlgorithm.latency).contains(alg) {
                    Log.warning("dispatcher", "algo \(alg) not implemented - using first entry...")
                }
            }
            if needsRoundRobin {
                hash = UInt32(set.last)
                set.last = (set.last + 1) % nr
                seenLast = set.last
                updateLast = true
            }
            let modulo = useDefault && nr != 1 ? nr - 1 : nr
            let start = Int(hash % UInt32(modulo))
            var i = start
            while !filled && DSState.skipped(set.destinations[i].flags) {
                i = (i + 1) % modulo
                if i == start {
                    guard useDefault else {
                        failure = ""
                        return nil
                    }
                    i = nr - 1
                    if DSState.skipped(set.destinations[i].flags) {
                        failure = ""
                        return nil
                    }
                    break
                }
            }
            let chosen = i
            if updateLast && seenLast == set.last { set.last = (chosen + 1) % nr }
            var result = DSSelection(destinations: set.destinations, chosenIndex: chosen, alg: alg)
            if alg == DSAlgorithm.parallel {
                if state.mode == .xavp {
                    result.branches = Array(set.destinations[chosen...])
                } else if chosen + 1 < nr {
                    result.branches = Array(set.destinations[(chosen + 1)...])
                }
                return result
            }
            guard failover else { return result }
            // One allocation for all the records (at most every destination once).
            records.reserveCapacity(nr)
            if !filled {
                records.append(chosen)
                let usable = { (k: Int) -> Bool in
                    if DSState.skipped(set.destinations[k].flags) || (useDefault && k == nr - 1) { return false }
                    if alg == DSAlgorithm.callLoad {
                        let maxload = set.destinations[k].attrs.maxload
                        if maxload != 0 && set.destinations[k].dload >= maxload { return false }
                    }
                    return true
                }
                for k in (chosen + 1)..<max(nr, chosen + 1) where records.count + startCount < Int(limit) && usable(k) {
                    records.append(k)
                }
                for k in 0..<chosen where records.count + startCount < Int(limit) && usable(k) { records.append(k) }
            }
            if useDefault && chosen != nr - 1 && records.count + startCount < Int(limit) { records.append(nr - 1) }
            result.records = records
            return result
        }
        guard let selection else {
            if let failure, !failure.isEmpty { Log.error("dispatcher", failure) }
            return -1
        }
        if state.mode != .xavp {
            let uri = selection.destinations[selection.chosenIndex].uri
            guard push(ctx, uri, selection.destinations[selection.chosenIndex].socket, state.mode) else {
                Log.error("dispatcher", "cannot set next hop address with: \(uri)")
                return -1
            }
            state.updated = true
        }
        if selection.alg == DSAlgorithm.parallel {
            return addBranches(ctx, selection.branches, state.mode) ? 1 : 2
        }
        // Room for the records and the count record at once (not an allocation per insert).
        if !selection.records.isEmpty { ctx.xavps.reserveCapacity(ctx.xavps.count + selection.records.count + 1) }
        for k in selection.records {
            guard addRecord(ctx, selection.destinations, k, set: state.setid, alg: selection.alg, state: &state) else {
                return -1
            }
        }
        return 1
    }

    private func fail(_ text: String) -> Int {
        Log.error("dispatcher", text)
        return -1
    }

    /// Kamailio's `ds_get_leastloaded`: the active destination with the fewest calls below
    /// its `maxload`.
    static func leastLoaded(_ set: DSSet) -> Int? {
        var best: Int?
        var load = Int(Int32.max)
        for (j, d) in set.destinations.enumerated()
        where !DSState.skipped(d.flags) && (d.attrs.maxload == 0 || d.dload < d.attrs.maxload) && d.dload < load {
            best = j
            load = d.dload
        }
        return best
    }

    /// Kamailio's `ds_manage_route_algo13`: from `last` on, each active destination's
    /// priority lowered by its latency (estimate, or congestion with `cc`), sorted by that
    /// (stable bubble sort, highest first). Returns the first index (-1 when none is active)
    /// and the active indexes in order.
    static func latencyOrder(_ set: inout DSSet, useDefault: Bool) -> (Int, [Int]) {
        let nr = set.count
        var sorted: [(idx: Int, priority: Int)] = []
        var z = set.last
        for _ in 0..<nr {
            var d = set.destinations[z]
            var handicap = 0
            var latency = Int(d.latency.estimate)
            if d.attrs.congestionControl != 0 { latency = Int(d.latency.estimate - d.latency.average) }
            if !DSState.skipped(d.flags) {
                if latency > d.priority && d.priority > 0 { handicap = latency / d.priority }
                d.runtimePriority = d.priority - handicap
                if d.runtimePriority < 1 && d.priority > 0 { d.runtimePriority = 1 }
                sorted.append((z, d.runtimePriority))
                set.destinations[z] = d
            } else {
                sorted.append((-1, -1))
            }
            z = useDefault && nr != 1 ? (z + 1) % (nr - 1) : (z + 1) % nr
        }
        for _ in 0..<nr {
            for ii in stride(from: 1, to: nr, by: 1) where sorted[ii - 1].priority < sorted[ii].priority {
                sorted.swapAt(ii - 1, ii)
            }
        }
        let hash = sorted.first?.idx ?? -1
        let ordered = sorted.filter { $0.idx >= 0 && !(useDefault && $0.idx == nr - 1) }.map(\.idx)
        set.last = (hash + 1) % nr
        return (hash, ordered)
    }

    /// Kamailio's `ds_select_dst_limit`.
    func select(_ ctx: MessageContext, set: Int, alg: Int, limit: Int, mode: DSUpdateMode) -> Int {
        var state = DSSelectState()
        state.setid = set
        state.alg = alg
        state.mode = mode
        state.limit = limit == 0 ? .max : UInt32(truncatingIfNeeded: limit)
        let r = manageRoutes(ctx, &state)
        guard r >= 0 else { return r }
        addCount(ctx, state.count)
        return r
    }

    /// Kamailio's `ds_select_routes`: `"set=alg;set=alg;..."`, the first selection updating
    /// `$du`/R-URI by `mode` (`0`/`d`, `1`/`r`, `2`/`x`), the rest only adding records.
    func selectRoutes(_ ctx: MessageContext, rules: String, mode: String, limit: Int) -> Int {
        var state = DSSelectState()
        state.limit = limit == 0 ? .max : UInt32(truncatingIfNeeded: limit)
        var lastResult = -1
        var anyResult = -1
        let chars = Array(rules.utf8)
        var i = 0
        while i < chars.count {
            state.setid = 0
            while i < chars.count {
                let c = chars[i]
                if c < UInt8(ascii: "0") || c > UInt8(ascii: "9") {
                    guard c == UInt8(ascii: "=") else {
                        Log.error("dispatcher", "invalid character in [\(rules)] at [\(i)]")
                        return -1
                    }
                    i += 1
                    break
                }
                state.setid = state.setid * 10 + Int(c - UInt8(ascii: "0"))
                i += 1
            }
            state.alg = 0
            while i < chars.count {
                let c = chars[i]
                if c < UInt8(ascii: "0") || c > UInt8(ascii: "9") {
                    guard c == UInt8(ascii: ";") else {
                        Log.error("dispatcher", "invalid character in [\(rules)] at [\(i)]")
                        return -1
                    }
                    i += 1
                    break
                }
                state.alg = state.alg * 10 + Int(c - UInt8(ascii: "0"))
                i += 1
            }
            state.mode = .xavp
            if !state.updated {
                switch mode.first {
                case "0", "d", "D": state.mode = .destinationURI
                case "1", "r", "R": state.mode = .requestURI
                case "2", "x", "X": break
                default:
                    Log.error("dispatcher", "invalid routing mode parameter: \(mode)")
                    return -1
                }
            }
            lastResult = manageRoutes(ctx, &state)
            if lastResult > 0 { anyResult = lastResult }
        }
        guard anyResult >= 0 else { return lastResult }
        addCount(ctx, state.count)
        return anyResult
    }
}
