#if canImport(Glibc)
    import Glibc
#endif

/// The script variables `$var(name)` / `$vz(name)` (start as 0, `$null` sets 0) and
/// `$vn(name)` (start as null, can hold null). As in Kamailio, where each worker process has
/// its own copy that keeps its value from one message to the next, every worker thread has
/// its own values: a variable is a slot number fixed at start-up, and each thread keeps an
/// array of values (thread-local storage). `modparam("pv", "varset", "name=i:1")` sets the
/// value a variable starts with in every thread.
public final class ScriptVariables: @unchecked Sendable {
    public static let shared = ScriptVariables()

    /// A variable: its slot in every thread's values.
    public struct Slot: Sendable, Equatable {
        public let index: Int
    }

    private var lock = pthread_mutex_t()
    private var slots: [String: Int] = [:]
    private var initialValues: [PVValue] = []
    private var key = pthread_key_t()

    private init() {
        pthread_mutex_init(&lock, nil)
        pthread_key_create(&key) { p in
            if let p { Unmanaged<Values>.fromOpaque(p).release() }
        }
    }

    /// One thread's values.
    final class Values {
        var values: [PVValue] = []
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return body()
    }

    /// The slot of `$var(name)` (`nullable` false) or `$vn(name)` (true); the two are
    /// separate name spaces, as in Kamailio. Called at start-up.
    public func slot(_ name: String, nullable: Bool) -> Slot {
        let key = (nullable ? "n:" : "v:") + name
        return locked {
            if let i = slots[key] { return Slot(index: i) }
            let i = initialValues.count
            slots[key] = i
            initialValues.append(nullable ? .null : .int(0))
            return Slot(index: i)
        }
    }

    /// Sets the value `$var(name)` starts with in every thread (`varset`).
    public func setInitialValue(_ name: String, _ value: PVValue) {
        let s = slot(name, nullable: false)
        locked { initialValues[s.index] = value }
    }

    /// This thread's values, created on first use.
    private func values() -> Values {
        if let p = pthread_getspecific(key) { return Unmanaged<Values>.fromOpaque(p).takeUnretainedValue() }
        let v = Values()
        pthread_setspecific(key, Unmanaged.passRetained(v).toOpaque())
        return v
    }

    /// Makes sure this thread has a value for `slot` (variables created after the thread
    /// first ran start with their initial value).
    private func grow(_ v: Values) {
        let missing = locked { Array(initialValues[v.values.count...]) }
        v.values += missing
    }

    /// The value of a variable in the calling thread.
    @inline(__always)
    public func get(_ slot: Slot) -> PVValue {
        let v = values()
        if slot.index >= v.values.count { grow(v) }
        return v.values[slot.index]
    }

    /// Sets a variable in the calling thread.
    @inline(__always)
    public func set(_ slot: Slot, _ value: PVValue) {
        let v = values()
        if slot.index >= v.values.count { grow(v) }
        v.values[slot.index] = value
    }

    /// Resets the calling thread's values to the initial ones (tests).
    public func resetCurrentThread() {
        values().values = locked { initialValues }
    }
}

/// An extended AVP (`$xavp(root=>field)`): a named value that is an integer, a string or a
/// list of named values. Lists keep the newest item first, as Kamailio's.
public struct XAVP: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case int(Int)
        case string(String)
        case list([XAVP])
    }

    public var name: String
    public var value: Value

    public init(name: String, value: Value) {
        self.name = name
        self.value = value
    }
}
