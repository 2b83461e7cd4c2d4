import SwiftletSDK

/// A `table=>key` reference (Kamailio's `pv_parse_ht_name`): the table name and the key
/// as a format that may hold pseudo-variables (`ipban=>$si`).
struct HTKeyReference {
    let table: String
    let key: StringFormat

    init(parsing text: String, registry: PseudoVariableRegistry = .shared) throws(FixupError) {
        let ws: Set<Character> = [" ", "\t", "\n", "\r"]
        let bad = FixupError("invalid htable reference '\(text)': expected table=>key")
        let trimmed = text.trimmingSet(ws)
        guard let (before, after) = trimmed.splitAtArrow() else { throw bad }
        let name = before.trimmingSet(ws)
        guard !name.isEmpty, !name.contains(where: { ws.contains($0) || $0 == "=" }) else { throw bad }
        table = String(name)
        do throws(FixupError) {
            key = try StringFormat(parsing: String(after), registry: registry)
        } catch {
            throw FixupError("wrong format[\(text)]: \(error.message)")
        }
    }
}

extension HTableModule {
    var pseudoVariables: [PseudoVariableClass] {
        [
            keyClass("sht", get: { t, k in t.get(k) ?? t.definition.initialValue.map(PVValue.int) ?? .null }) {
                t, k, value in
                if value == .null {
                    t.delete(k)
                    return true
                }
                return t.set(k, value)
            },
            keyClass("shtex", get: { t, k in .int(t.expiresIn(k)) }) { t, k, value in
                if case .int(let seconds) = value { t.setExpire(k, seconds) } else { t.setExpire(k, 0) }
                return true
            },
            keyClass("shtcn", get: { t, k in .int(HTMatch.count(t, k, byValue: false)) }),
            keyClass("shtcv", get: { t, k in .int(HTMatch.count(t, k, byValue: true)) }),
            keyClass("shtinc", get: { t, k in t.add(k, 1).map(PVValue.int) ?? .null }),
            keyClass("shtdec", get: { t, k in t.add(k, -1).map(PVValue.int) ?? .null }),
            recordClass,
            iteratorClass("shtitkey") { .string($0.nameString) },
            iteratorClass("shtitval") { $0.value.pv },
        ]
    }

    /// A class named `$name(table=>key)`: `get` (and `set`) run on the table; a table that
    /// is not defined reads as `$null` and refuses assignments.
    func keyClass(
        _ name: String, get: @escaping (HashTable, String) -> PVValue,
        set: ((HashTable, String, PVValue) -> Bool)? = nil
    ) -> PseudoVariableClass {
        PseudoVariableClass(name) { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let inner = pv.inner else { throw FixupError("$\(name) needs table=>key") }
            let ref = try HTKeyReference(parsing: inner, registry: pv.registry)
            let setter: ((MessageContext, PVValue) -> Bool)? = set.map { set in
                { ctx, value in
                    guard let t = self.table(ref.table) else { return false }
                    return set(t, ref.key.render(ctx), value)
                }
            }
            return PseudoVariable(
                text: pv.text,
                get: { ctx in
                    guard let t = self.table(ref.table) else { return .null }
                    return get(t, ref.key.render(ctx))
                }, set: setter)
        }
    }

    /// `$shtrecord(key)` / `$shtrecord(value)`: the item an expiry event route runs for.
    var recordClass: PseudoVariableClass {
        PseudoVariableClass("shtrecord") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            let wantsValue: Bool
            switch pv.inner {
            case "key": wantsValue = false
            case "value": wantsValue = true
            default: throw FixupError("unknown pv name \(pv.inner ?? "")")
            }
            return PseudoVariable(text: pv.text) { (_: MessageContext) -> PVValue? in
                guard let record = self.threadState.expired else { return nil }
                return wantsValue ? record.value : .string(record.name)
            }
        }
    }

    /// `$shtitkey(iterator)` / `$shtitval(iterator)`: the item an iterator stands on.
    func iteratorClass(_ name: String, _ value: @escaping (HTCell) -> PVValue) -> PseudoVariableClass {
        PseudoVariableClass(name) { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let iterator = pv.inner, !iterator.isEmpty else {
                throw FixupError("$\(name) needs an iterator name")
            }
            return PseudoVariable(text: pv.text) { _ in
                guard let cell = self.threadState.iterator(iterator, create: false)?.current else { return .null }
                return value(cell)
            }
        }
    }
}
