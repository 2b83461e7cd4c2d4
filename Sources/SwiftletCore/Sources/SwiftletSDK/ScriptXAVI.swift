/// Kamailio's xavi lists (`$xavi(root=>field)`): extended AVPs whose names (of roots and of
/// fields) match without regard to ASCII case, as `strncasecmp`. They live with the
/// message's `$xavp` items (`MessageContext.xavps`, so a transaction keeps them as Kamailio's
/// tm keeps its xavi list), each root stored under its name behind `ScriptXAVI.marker`, a
/// character no `$xavp` name written in a script can hold.
public enum ScriptXAVI {
    /// The first character of an xavi root's stored name.
    public static let marker: Character = "\u{1}"

    /// The name an xavi root `name` is stored under in `MessageContext.xavps`.
    public static func storedName(_ name: String) -> String { String(marker) + name }

    /// True when `a` and `b` are equal ignoring ASCII case.
    public static func namesMatch(_ a: Substring.UTF8View, _ b: Substring.UTF8View) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let lx = x >= 65 && x <= 90 ? x + 32 : x
            let ly = y >= 65 && y <= 90 ? y + 32 : y
            if lx != ly { return false }
        }
        return true
    }

    /// True when the stored item `item` is the xavi root `name`.
    public static func isRoot(_ item: XAVP, named name: String) -> Bool {
        guard item.name.first == marker else { return false }
        return namesMatch(item.name.dropFirst().utf8, Substring(name).utf8)
    }

    /// True when the field `item` of an xavi root is named `name`.
    public static func isField(_ item: XAVP, named name: String) -> Bool {
        namesMatch(Substring(item.name).utf8, Substring(name).utf8)
    }

    /// The positions in `ctx.xavps` of the roots named `name`, newest first.
    public static func roots(_ ctx: MessageContext, _ name: String) -> [Int] {
        ctx.xavps.indices.filter { isRoot(ctx.xavps[$0], named: name) }
    }

    /// The positions in `fields` of those named `name`, newest first.
    public static func fields(_ fields: [XAVP], _ name: String) -> [Int] {
        fields.indices.filter { isField(fields[$0], named: name) }
    }

    /// The root's name as written when it was added (without the marker).
    public static func rootName(_ item: XAVP) -> String { String(item.name.dropFirst()) }

    /// Adds `value` as the field `field` of the newest root `root`, creating the root when there
    /// is none (Kamailio's `xavi_set_child_xval`): the new field comes first. False when the
    /// newest root holds a value, not fields.
    @discardableResult
    public static func setField(_ ctx: MessageContext, _ root: String, _ field: String, _ value: XAVP.Value) -> Bool {
        guard let i = roots(ctx, root).first else {
            ctx.xavps.insert(XAVP(name: storedName(root), value: .list([XAVP(name: field, value: value)])), at: 0)
            return true
        }
        guard case .list(var items) = ctx.xavps[i].value else { return false }
        items.insert(XAVP(name: field, value: value), at: 0)
        ctx.xavps[i].value = .list(items)
        return true
    }

    /// Removes the newest root `root` (`xavi_rm_by_index(root, 0)`): whether there was one.
    @discardableResult
    public static func removeRoot(_ ctx: MessageContext, _ root: String) -> Bool {
        guard let i = roots(ctx, root).first else { return false }
        ctx.xavps.remove(at: i)
        return true
    }

    /// Removes the newest field `field` of the newest root `root`
    /// (`xavi_rm_child_by_index(root, field, 0)`): whether there was one.
    @discardableResult
    public static func removeField(_ ctx: MessageContext, _ root: String, _ field: String) -> Bool {
        guard let i = roots(ctx, root).first, case .list(var items) = ctx.xavps[i].value,
            let j = fields(items, field).first
        else { return false }
        items.remove(at: j)
        ctx.xavps[i].value = .list(items)
        return true
    }
}
