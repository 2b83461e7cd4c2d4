import SwiftletSDK

/// registrar's module parameters (Kamailio's `registrar` cfg group and module globals).
struct RegistrarSettings {
    var defaultExpires = 3600
    var defaultExpiresRange = 0
    var expiresRange = 0
    var minExpires = 60
    var maxExpires = 0
    var maxContacts = 0
    var retryAfter = 0
    var caseSensitive = false
    /// Q_UNSPECIFIED (-1) or 0-1000.
    var defaultQ = UsrlocContact.qUnspecified
    var appendBranches = true
    var useExpiredContacts = false
    var realmPrefix = ""
    var receivedParam = "received"
    var receivedAVP: String?
    var methodFiltering = false
    var usePath = false
    /// 0 off, 1 lazy, 2 strict.
    var pathMode = 2
    var pathUseReceived = false
    var pathCheckLocal = false
    var xavpCfg: String?
    var xavpRcd: String?
    var xavpRcdMask = 0
    var gruuEnabled = true
    var contactMaxSize = 512
    var minExpiresMode = false
}

/// Reading `$xavp(cfg=>name)` the way registrar does (`xavp_get_child_with_ival/sval`).
enum XAVPLookup {
    static func child(_ ctx: MessageContext, root: String?, _ name: String) -> XAVP.Value? {
        guard let root, let r = ctx.xavps.first(where: { $0.name == root }), case .list(let items) = r.value else {
            return nil
        }
        return items.first { $0.name == name }?.value
    }

    static func int(_ ctx: MessageContext, root: String?, _ name: String) -> Int? {
        if case .int(let i) = child(ctx, root: root, name) { return i }
        return nil
    }

    static func string(_ ctx: MessageContext, root: String?, _ name: String) -> String? {
        if case .string(let s) = child(ctx, root: root, name) { return s }
        return nil
    }

    /// Adds `fields` under the root `root` (created when missing), newest first.
    static func add(_ ctx: MessageContext, root: String, _ fields: [XAVP]) {
        if let i = ctx.xavps.firstIndex(where: { $0.name == root }), case .list(var items) = ctx.xavps[i].value {
            for f in fields { items.insert(f, at: 0) }
            ctx.xavps[i].value = .list(items)
        } else {
            ctx.xavps.insert(XAVP(name: root, value: .list(fields.reversed())), at: 0)
        }
    }
}
