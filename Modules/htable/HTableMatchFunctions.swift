import SwiftletSDK

/// Removal and matching over a whole table: `sht_rm_name_re`, `sht_rm_value_re`,
/// `sht_rm_name`, `sht_rm_value`, `sht_match_name`/`sht_has_name`,
/// `sht_match_str_value`/`sht_has_str_value`.
extension HTableModule {
    var matchFunctions: [ScriptFunction] {
        [
            removeByRegex("sht_rm_name_re", byValue: false),
            removeByRegex("sht_rm_value_re", byValue: true),
            removeByOperator("sht_rm_name", byValue: false),
            removeByOperator("sht_rm_value", byValue: true),
            match("sht_match_name", byValue: false),
            match("sht_has_name", byValue: false),
            match("sht_match_str_value", byValue: true),
            match("sht_has_str_value", byValue: true),
        ]
    }

    /// `sht_rm_name_re("table=>regex")` / `sht_rm_value_re(...)`: removes the items whose
    /// name (or string value) matches. True also when the table does not exist.
    func removeByRegex(_ name: String, byValue: Bool) -> ScriptFunction {
        ScriptFunction(name, parameters: 1, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
            let ref = try HTKeyReference(parsing: try args[0].constantString())
            return { ctx in
                guard let t = self.table(ref.table) else { return 1 }
                let pattern = ref.key.render(ctx)
                guard !pattern.isEmpty, let re = HTMatch.regex(pattern) else { return -1 }
                t.removeAll { cell in HTMatch.subject(cell, byValue: byValue).map { re.matches($0) } ?? false }
                return 1
            }
        }
    }

    /// `sht_rm_name(table, op, value)` / `sht_rm_value(...)`: op `re` (regular expression)
    /// or `sw` (starts with).
    func removeByOperator(_ name: String, byValue: Bool) -> ScriptFunction {
        ScriptFunction(name, parameters: 3, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
            let (tname, op, value) = (
                try args[0].stringFormat(), try args[1].stringFormat(), try args[2].stringFormat()
            )
            return { ctx in
                guard let n = Self.nonEmpty(tname, ctx, "hash table name"),
                    let o = Self.nonEmpty(op, ctx, "match operation"), let v = Self.nonEmpty(value, ctx, "match value"),
                    let t = self.existingTable(n)
                else { return -1 }
                guard o == "re" || o == "sw" else {
                    Log.warning("htable", "unsupported match operator: \(o)")
                    return -1
                }
                guard let matches = HTMatch.predicate(o, v, byValue: byValue) else { return -1 }
                t.removeAll(where: matches)
                return 1
            }
        }
    }

    /// `sht_match_name(table, op, value)` and the others: true when some item's name (or
    /// string value) matches with op `eq`, `ne`, `re` or `sw`.
    func match(_ name: String, byValue: Bool) -> ScriptFunction {
        ScriptFunction(name, parameters: 3, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
            let (tname, op, value) = (
                try args[0].stringFormat(), try args[1].stringFormat(), try args[2].stringFormat()
            )
            return { ctx in
                guard let n = Self.nonEmpty(tname, ctx, "hash table name"),
                    let o = Self.nonEmpty(op, ctx, "match operation"), let v = Self.nonEmpty(value, ctx, "match value"),
                    let t = self.existingTable(n)
                else { return -1 }
                guard let matches = HTMatch.predicate(o, v, byValue: byValue) else {
                    if !["eq", "ne", "re", "sw"].contains(o) {
                        Log.warning("htable", "unsupported match operator: \(o)")
                    }
                    return -1
                }
                return t.contains(where: matches) ? 1 : -1
            }
        }
    }
}
