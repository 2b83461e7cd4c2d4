import SwiftletSDK

extension SQLOpsModule {
    /// `sql_pvquery(con, query, "pv1,pv2,...")`: each column of the result goes to the PV
    /// of the same position; rows are set from the last to the first (so a `$var` ends with
    /// the first row's value and an `$avp` holds every row, the first on top). 1, 2 (no
    /// rows), -1 (error, or fewer PVs than columns).
    var pvQueryFunction: ScriptFunction {
        ScriptFunction("sql_pvquery", parameters: 3, routes: .any) { args throws(FixupError) in
            let con = try self.requireConnection(try args[0].constantString())
            let query = try args[1].stringFormat()
            let text: String
            switch args[2].value {
            case .pseudoVariable(let p), .string(let p): text = p
            case .int(let i): throw FixupError("a list of pseudo-variables is required, not \(i)", at: args[2].location)
            }
            var targets: [(set: (MessageContext, PVValue) -> Bool, isAVP: Bool)] = []
            for item in text.split(separator: ",") {
                let spec = String(item).trimmingCharacters()
                let pv: PseudoVariable
                do throws(FixupError) {
                    pv = try PseudoVariableRegistry.shared.compile(spec)
                } catch {
                    throw FixupError(error.message, at: args[2].location)
                }
                guard let set = pv.set else { throw FixupError("\(spec) is not writable", at: args[2].location) }
                targets.append((set, spec.hasPrefix("$avp(") || spec.hasPrefix("$(avp(")))
            }
            guard !targets.isEmpty else { throw FixupError("sql_pvquery: no result variables", at: args[2].location) }
            return { ctx in self.pvQuery(con, query.render(ctx), targets, ctx) }
        }
    }

    /// Kamailio's `sql_do_pvquery` with `db_val2pv_spec`.
    func pvQuery(
        _ con: String, _ sql: String, _ targets: [(set: (MessageContext, PVValue) -> Bool, isAVP: Bool)],
        _ ctx: MessageContext
    ) -> Int {
        guard let db = connections[con] else { return -1 }
        let rows: DatabaseResult
        do throws(DatabaseError) {
            rows = try db.rawQuery(sql)
        } catch {
            Log.error("sqlops", "cannot do the query: \(error)")
            return -1
        }
        if rows.rows.isEmpty || rows.columns.isEmpty { return 2 }
        for row in rows.rows.reversed() {
            for (j, value) in row.enumerated() {
                guard j < targets.count else {
                    Log.error("sqlops", "Missing pv spec for column \(j + 1)")
                    return -1
                }
                let v = Self.pvSetValue(value)
                if v == .null, targets[j].isAVP { continue }  // NULL is not added to an AVP
                guard targets[j].set(ctx, v) else {
                    Log.error("sqlops", "Failed to convert value for column \(rows.columns[j])")
                    return -1
                }
            }
        }
        return 1
    }

    /// A value as `db_val2pv_spec` sets it: a bigint that fits in 32 bits unsigned as an
    /// integer, a larger one as a string; otherwise as `$dbr` shows it.
    static func pvSetValue(_ v: DatabaseValue) -> PVValue {
        if case .bigint(let b) = v, b >= 0, b <= 0xFFFF_FFFF { return .int(Int(b)) }
        return pvValue(v)
    }
}
