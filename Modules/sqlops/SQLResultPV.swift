import SwiftletSDK

extension SQLOpsModule {
    /// `$dbr(res=>rows)`, `$dbr(res=>cols)`, `$dbr(res=>[row,col])`,
    /// `$dbr(res=>colname[col])` (row and col integers or PVs): the result `sql_query` stored
    /// under `res` on this thread.
    var dbrPV: PseudoVariableClass {
        PseudoVariableClass("dbr") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let inner = pv.inner, let arrow = inner.firstRange(of: "=>") else {
                throw FixupError("invalid $dbr name: \(pv.text) (expected $dbr(res=>rows))")
            }
            let name = String(inner[..<arrow.lowerBound]).trimmingCharacters()
            let key = String(inner[arrow.upperBound...]).trimmingCharacters()
            try self.declareResult(name)
            let slot = self.slot
            let read: (MessageContext, DatabaseResult) -> PVValue
            if key == "rows" {
                read = { _, r in .int(r.rows.count) }
            } else if key == "cols" {
                read = { _, r in .int(r.columns.count) }
            } else if key.hasPrefix("["), key.hasSuffix("]") {
                let parts = key.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw FixupError("invalid $dbr index: \(pv.text)") }
                let row = try Self.position(String(parts[0]), pv)
                let col = try Self.position(String(parts[1]), pv)
                read = { ctx, r in
                    guard let i = row.value(ctx), let j = col.value(ctx), i >= 0, i < r.rows.count, j >= 0,
                        j < r.columns.count
                    else { return .null }
                    return Self.pvValue(r.rows[i][j])
                }
            } else if key.hasPrefix("colname["), key.hasSuffix("]") {
                let col = try Self.position(String(key.dropFirst(8).dropLast()), pv)
                read = { ctx, r in
                    guard let j = col.value(ctx), j >= 0, j < r.columns.count else { return .null }
                    return .string(r.columns[j])
                }
            } else {
                throw FixupError("invalid $dbr key '\(key)' in \(pv.text)")
            }
            return PseudoVariable(text: pv.text) { ctx in
                guard let r = SQLThreadState.current.result(slot, name) else {
                    // An unset or freed result: no rows, no columns.
                    return key == "rows" || key == "cols" ? .int(0) : .null
                }
                return read(ctx, r)
            }
        }
    }

    static func position(_ text: String, _ pv: PseudoVariableName) throws(FixupError) -> IntParameter {
        let t = text.trimmingCharacters()
        if let n = Int(t) { return .constant(n) }
        guard t.hasPrefix("$") else { throw FixupError("invalid $dbr index '\(t)' in \(pv.text)") }
        return .dynamic(try StringFormat(parsing: t, registry: pv.registry))
    }
}
