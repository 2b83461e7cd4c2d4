import SwiftletSDK
import Synchronization

/// The shared variables `$shv(name)`: one value per name for the whole server, read and
/// written by every worker thread under a lock (Kamailio keeps them in shared memory with
/// a lock set). A variable exists from start-up (where the script or `shvset` names it)
/// and starts as 0. String values live in the core's shared memory pool, so that a full
/// pool makes the assignment fail with a log line (the old value stays).
final class SharedVariables: Sendable {
    /// A stored value: strings are kept in shared memory.
    enum Stored: Sendable {
        case int(Int)
        case string(SharedBytes)
    }

    private let names = Mutex<[String: Int]>([:])
    private let values = Mutex<[Stored]>([])
    private let memory: SharedMemory

    init(memory: SharedMemory = .shared) { self.memory = memory }

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

    func get(_ slot: Int) -> PVValue {
        switch values.withLock({ $0[slot] }) {
        case .int(let i): .int(i)
        case .string(let b): .string(b.string)
        }
    }

    /// Stores `value` (null stores 0). Returns false, logging the cause, when a string does
    /// not fit in shared memory; the variable keeps its value then.
    @discardableResult
    func set(_ slot: Int, _ value: PVValue) -> Bool {
        let stored: Stored
        switch value {
        case .null: stored = .int(0)
        case .int(let i): stored = .int(i)
        case .string(let s):
            guard let b = SharedBytes(s, in: memory) else {
                let name = names.withLock { $0.first { $0.value == slot }?.key ?? "?" }
                Log.error("pv", "cannot set $shv(\(name)): out of shared memory (\(s.utf8.count) bytes)")
                return false
            }
            stored = .string(b)
        }
        values.withLock { $0[slot] = stored }
        return true
    }

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
                set: { _, value in self.set(slot, value == .null ? .string("") : value) })
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
