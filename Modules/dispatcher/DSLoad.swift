import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Call-load accounting by Call-ID (Kamailio's `ds_ht.c` table behind `ds_hash_size`): which
/// destination (`duid`) of which set carries the call, whether it was confirmed (2xx), and
/// when the entry expires (`ds_hash_expire`, `ds_hash_initexpire` while unconfirmed).
final class DSLoadTable: Sendable {
    struct Cell: Sendable {
        var duid: String
        var set: Int
        var confirmed = false
        var expire: Int
        var initExpire: Int
    }

    let expire: Int
    let initExpire: Int
    /// Seconds of the core's clock.
    let clock: @Sendable () -> Int
    private let cells = Mutex<[String: Cell]>([:])

    init(expire: Int, initExpire: Int, clock: @escaping @Sendable () -> Int) {
        self.expire = expire
        self.initExpire = initExpire
        self.clock = clock
    }

    /// Adds the call; false when the Call-ID is there already (Kamailio's -2).
    func add(callID: String, duid: String, set: Int) -> Bool {
        let now = clock()
        return cells.withLock { cells in
            guard cells[callID] == nil else {
                Log.warning("dispatcher", "call-id already in hash table [\(callID)].")
                return false
            }
            cells[callID] = Cell(duid: duid, set: set, expire: now + expire, initExpire: now + initExpire)
            return true
        }
    }

    func cell(_ callID: String) -> Cell? { cells.withLock { $0[callID] } }

    @discardableResult
    func remove(_ callID: String) -> Cell? { cells.withLock { $0.removeValue(forKey: callID) } }

    func confirm(_ callID: String) -> Bool {
        cells.withLock { cells in
            guard cells[callID] != nil else { return false }
            cells[callID]!.confirmed = true
            return true
        }
    }

    /// Removes and returns the entries past their expiry (`initexpire` while unconfirmed).
    func expired(now: Int) -> [Cell] {
        cells.withLock { cells in
            var out: [Cell] = []
            for (k, c) in cells
            where (c.expire != 0 && c.expire < now) || (!c.confirmed && c.initExpire != 0 && c.initExpire < now) {
                out.append(c)
                cells.removeValue(forKey: k)
            }
            return out
        }
    }

    var count: Int { cells.withLock { $0.count } }
}

extension DispatcherModule {
    /// Kamailio's `DS_LOAD_DEC` through `ds_load_remove_byid`.
    @discardableResult
    func decrementLoad(set: Int, duid: String) -> Bool {
        list.withLock { list in
            guard let p = list.position(of: set) else {
                Log.error("dispatcher", "destination set [\(set)] not found")
                return false
            }
            guard let i = list.sets[p].index(duid: duid) else {
                Log.error("dispatcher", "old destination address not found for [\(set), \(duid)]")
                return false
            }
            if list.sets[p].destinations[i].dload > 0 { list.sets[p].destinations[i].dload -= 1 }
            return true
        }
    }

    /// Kamailio's `ds_load_remove`.
    func removeLoad(_ ctx: MessageContext) -> Int {
        let callID = ctx.message.callID ?? ""
        guard let loads, let cell = loads.cell(callID) else {
            Log.error("dispatcher", "cannot find load for (\(callID))")
            return -1
        }
        guard decrementLoad(set: cell.set, duid: cell.duid) else { return -1 }
        loads.remove(callID)
        return 0
    }

    /// Kamailio's `ds_load_replace` (`ds_next_dst` with call load): the call moves to `duid`;
    /// -2 when that destination is gone.
    func replaceLoad(_ ctx: MessageContext, duid: String) -> Int {
        let callID = ctx.message.callID ?? ""
        guard !duid.isEmpty else { return -1 }
        guard let loads, let cell = loads.cell(callID) else {
            Log.error("dispatcher", "cannot find load for (\(callID))")
            return -1
        }
        let found: (old: Bool, new: Bool)? = list.withLock { list in
            guard let p = list.position(of: cell.set) else { return nil }
            return (list.sets[p].index(duid: cell.duid) != nil, list.sets[p].index(duid: duid) != nil)
        }
        guard let found else {
            Log.error("dispatcher", "destination set [\(cell.set)] not found")
            return -1
        }
        if !found.old { Log.warning("dispatcher", "old destination address not found for [\(cell.set), \(cell.duid)]") }
        guard found.new else {
            Log.error("dispatcher", "new destination address not found for [\(cell.set), \(duid)]")
            return -2
        }
        loads.remove(callID)
        if found.old { decrementLoad(set: cell.set, duid: cell.duid) }
        guard loads.add(callID: callID, duid: duid, set: cell.set) else { return -1 }
        list.withLock { list in
            guard let p = list.position(of: cell.set), let i = list.sets[p].index(duid: duid) else { return }
            list.sets[p].destinations[i].dload += 1
        }
        return 0
    }

    /// Kamailio's `ds_load_update`: BYE and CANCEL end the call's load; a 2xx to an INVITE
    /// confirms it.
    func loadUpdate(_ ctx: MessageContext) -> Int {
        guard ctx.message.callID != nil, (try? ctx.message.cseq()) != nil else {
            Log.error("dispatcher", "cannot parse cseq and callid headers")
            return -1
        }
        if ctx.message.isRequest {
            if ctx.message.method == .bye || ctx.message.method == .cancel { _ = removeLoad(ctx) }
            return 1
        }
        if ctx.message.methodText.uppercased() == "INVITE", let code = ctx.message.statusCode, code / 100 == 2 {
            _ = loads?.confirm(ctx.message.callID ?? "")
        }
        return 1
    }

    /// Kamailio's `ds_load_unset`: for an INVITE only when its records carry a `dstid`.
    func loadUnset(_ ctx: MessageContext) -> Int {
        guard !settings.xavpDst.isEmpty else { return 1 }
        if ctx.message.method == .invite {
            guard let root = ctx.xavps.first(where: { $0.name == settings.xavpDst }),
                case .list(let fields) = root.value,
                fields.contains(where: { $0.name == "dstid" })
            else { return 1 }
        }
        return removeLoad(ctx) < 0 ? -1 : 1
    }

    /// Kamailio's `ds_ht_timer`.
    func expireLoads() {
        guard let loads else { return }
        for cell in loads.expired(now: loads.clock()) { decrementLoad(set: cell.set, duid: cell.duid) }
    }
}
