import SwiftletSDK
import Synchronization

/// The shared variables `$shv(name)`: one value per name for the whole server, read and
/// written by every worker thread under a lock (Kamailio keeps them in shared memory with
/// a lock set). A variable exists from start-up (where the script or `shvset` names it)
/// and starts as 0.
final class SharedVariables: Sendable {
    private let names = Mutex<[String: Int]>([:])
    private let values = Mutex<[PVValue]>([])

    /// The slot of a variable, created (as 0) on first use. Start-up only.
    func slot(_ name: String) -> Int {
        names.withLock { names in
            if let i = names[name] { return i }
            let i = names.count
            names[name] = i
            values.withLock { $0.append(.int(0)) }
            return i
        }
    }

    func get(_ slot: Int) -> PVValue { values.withLock { $0[slot] } }

    func set(_ slot: Int, _ value: PVValue) { values.withLock { $0[slot] = value } }

    /// The value of a variable by name (nil when it does not exist).
    func value(named name: String) -> PVValue? {
        guard let i = names.withLock({ $0[name] }) else { return nil }
        return get(i)
    }

    /// `$shv(name)`: assigning `$null` stores an empty string, as Kamailio does
    /// (`pv_unset` stores 0).
    func pseudoVariableClass() -> PseudoVariableClass {
        PseudoVariableClass("shv") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let name = pv.inner?.trimmingCharacters(), !name.isEmpty else {
                throw FixupError("$shv needs a name: $shv(name)")
            }
            guard pv.index == nil else { throw FixupError("$shv takes no index") }
            let slot = self.slot(name)
            return PseudoVariable(
                text: pv.text, get: { _ in self.get(slot) },
                set: { _, value in
                    self.set(slot, value == .null ? .string("") : value)
                    return true
                })
        }
    }
}

/// A `shvset`/`varset` value: `name=i:123` or `name=s:text`.
struct VariableSetting: Equatable {
    let name: String
    let value: PVValue

    init(parsing text: String) throws(FixupError) {
        let bad = FixupError("invalid value \"\(text)\": expected name=i:number or name=s:text")
        guard let eq = text.firstIndex(of: "=") else { throw bad }
        name = String(text[..<eq])
        guard !name.isEmpty else { throw bad }
        let rest = text[text.index(after: eq)...]
        guard let kind = rest.first, "sSiI".contains(kind), rest.dropFirst().first == ":" else { throw bad }
        let v = String(rest.dropFirst(2))
        if kind == "s" || kind == "S" {
            value = .string(v)
        } else {
            guard let i = Int32(v) else { throw FixupError("invalid integer in \"\(text)\"") }
            value = .int(Int(i))
        }
    }
}
