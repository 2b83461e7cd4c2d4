import SwiftletSDK

/// The message's AVPs as avpops works on them (`MessageContext.avps`: each name a stack of
/// values, the newest first; `avpFlags` parallel to it). A string name is stored as written,
/// an integer name (`i:5`) as `#5`.
enum AVPList {
    /// Kamailio's `AVP_IS_IN_DB`: the value came from or went to the database (a bit above
    /// the script's `avpflags`, 13 to 30).
    static let inDatabase: UInt32 = 1 << 31

    /// The key of an AVP name as the core's `$avp` stores it: `s:name` and `name` are `name`,
    /// `i:5` is `#5`.
    static func key(_ name: String) -> String {
        var n = name.trimmingCharacters()
        // A name without `:` may be an alias (pv's `avp_aliases`).
        if !n.contains(":"), let aliased = AVPAliases.lookup(n) { n = aliased }
        if n.hasPrefix("s:") || n.hasPrefix("S:") { return String(n.dropFirst(2)) }
        if n.hasPrefix("i:") || n.hasPrefix("I:") { return "#" + n.dropFirst(2) }
        return n
    }

    /// True for an integer name (`i:5`).
    static func isIntegerName(_ key: String) -> Bool { key.hasPrefix("#") }

    /// The name as Kamailio's database rows and logs show it (`5` for `i:5`).
    static func plainName(_ key: String) -> String { isIntegerName(key) ? String(key.dropFirst()) : key }

    static func values(_ ctx: MessageContext, _ key: String) -> [PVValue] { ctx.avps[key] ?? [] }

    /// The flags of the values of `key`, one per value (0 where none were kept).
    static func flags(_ ctx: MessageContext, _ key: String) -> [UInt32] {
        let count = ctx.avps[key]?.count ?? 0
        var f = ctx.avpFlags[key] ?? []
        if f.count > count { f.removeLast(f.count - count) }
        if f.count < count { f += Array(repeating: 0, count: count - f.count) }
        return f
    }

    /// Adds a value on top of `key` (Kamailio's `add_avp`).
    static func add(_ ctx: MessageContext, _ key: String, _ value: PVValue, flags: UInt32 = 0) {
        let old = flags == 0 && ctx.avpFlags[key] == nil ? nil : Self.flags(ctx, key)
        ctx.avps[key, default: []].insert(value, at: 0)
        if var f = old {
            f.insert(flags, at: 0)
            ctx.avpFlags[key] = f
        }
    }

    /// Removes the value at `index` of `key` (newest is 0).
    static func remove(_ ctx: MessageContext, _ key: String, at index: Int) {
        guard var v = ctx.avps[key], index < v.count else { return }
        var f = ctx.avpFlags[key] == nil ? nil : flags(ctx, key)
        v.remove(at: index)
        f?.remove(at: index)
        ctx.avps[key] = v.isEmpty ? nil : v
        ctx.avpFlags[key] = v.isEmpty ? nil : f
    }

    /// Removes every value of `key`.
    static func removeAll(_ ctx: MessageContext, _ key: String) {
        ctx.avps[key] = nil
        ctx.avpFlags[key] = nil
    }

    /// Sets `bits` on the value at `index` of `key`.
    static func setFlags(_ ctx: MessageContext, _ key: String, at index: Int, _ bits: UInt32) {
        var f = flags(ctx, key)
        guard index < f.count else { return }
        f[index] |= bits
        ctx.avpFlags[key] = f
    }

    /// The names whose type fits `type` (nil: any), in a stable order (by name).
    static func names(_ ctx: MessageContext, type: AVPNameType?) -> [String] {
        ctx.avps.keys.filter { type?.matches($0) ?? true }.sorted()
    }
}

/// The name type of avpops' matching flags: `i` integer names, `s` string names.
enum AVPNameType {
    case integer, string

    func matches(_ key: String) -> Bool { (self == .integer) == AVPList.isIntegerName(key) }
}
