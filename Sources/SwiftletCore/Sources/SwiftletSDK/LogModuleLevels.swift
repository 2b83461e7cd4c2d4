import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Per-module log levels and syslog facilities (Kamailio's `get_debug_level(mname)` and
/// `get_debug_facility(mname)`, which the debugger module's `mod_level` / `mod_facility`
/// fill). A line logged with `Log.log(level, origin, ...)` by a module with a level of its
/// own is printed when its level is at most that level, whatever `debug=` is; the other
/// lines follow the global level. Installed once at start-up (`Log.install(moduleLevels:)`);
/// without it logging costs nothing more.
public final class ModuleLogLevels: @unchecked Sendable {
    /// The cfg variable `dbg.mod_level_mode`: 1 applies the module levels.
    public var levelMode: Int { levelModeValue.load(ordering: .relaxed) }
    private let levelModeValue = Atomic<Int>(0)
    /// The cfg variable `dbg.mod_facility_mode`: 1 applies the module facilities.
    public let facilityMode = Atomic<Int>(0)
    private var lock = pthread_mutex_t()
    private var levels: [String: Int] = [:]
    private var facilities: [String: Int32] = [:]

    public init() { pthread_mutex_init(&lock, nil) }

    /// Sets (or with nil removes) the level of `module` (`core` for the core).
    public func setLevel(_ level: Int?, for module: String) {
        pthread_mutex_lock(&lock)
        levels[module] = level
        let top = levels.values.max()
        pthread_mutex_unlock(&lock)
        if levelMode != 0, let top { Log.raiseLevel(to: top) }
    }

    /// Turns the module levels on (1) or off (0).
    public func setLevelMode(_ mode: Int) {
        levelModeValue.store(mode, ordering: .relaxed)
        pthread_mutex_lock(&lock)
        let top = levels.values.max()
        pthread_mutex_unlock(&lock)
        if mode != 0, let top { Log.raiseLevel(to: top) }
    }

    /// Sets (or with nil removes) the syslog facility (`LOG_LOCAL0` value) of `module`.
    public func setFacility(_ facility: Int32?, for module: String) {
        pthread_mutex_lock(&lock)
        facilities[module] = facility
        pthread_mutex_unlock(&lock)
    }

    /// The level of `module` when `levelMode` is on and it has one, else nil.
    public func level(of module: String) -> Int? {
        guard levelMode != 0 else { return nil }
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return levels[module]
    }

    /// The facility of `module` when `facilityMode` is on and it has one, else nil.
    public func facility(of module: String) -> Int32? {
        guard facilityMode.load(ordering: .relaxed) != 0 else { return nil }
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return facilities[module]
    }

    /// Whether a line of `level` from `module` is printed by the calling thread.
    public func allows(_ level: LogLevel, _ module: String) -> Bool {
        if let own = self.level(of: module) { return level.rawValue <= own }
        // The process level may be raised for the modules' levels: compare with `debug=`
        // (or the worker's own `setdebug` level).
        return Log.enabled(level)
            && level <= (Log.localLevelsUsed ? LogThreadState.current.effectiveLevel : Log.configuredLevel)
    }
}

extension Log {
    /// Raises the level `enabled` compares with first to `value` (a module's own level), so
    /// that its lines above `debug=` reach the per-module check.
    static func raiseLevel(to value: Int) {
        let target = min(3, value)
        var current = levelValue.load(ordering: .relaxed)
        while target > current {
            let (exchanged, original) = levelValue.compareExchange(
                expected: current, desired: target, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }

    /// The per-module levels in use, nil when none were installed.
    nonisolated(unsafe) public private(set) static var moduleLevels: ModuleLogLevels? = nil

    /// Installs per-module levels (the debugger module, at start-up before workers run).
    public static func install(moduleLevels: ModuleLogLevels?) { self.moduleLevels = moduleLevels }

    /// Whether a line of `level` from `module` is printed (its own level when it has one).
    public static func enabled(_ level: LogLevel, module: String) -> Bool {
        moduleLevels?.allows(level, module) ?? enabled(level)
    }

    /// Writes a line whose level is printed as `label` (Kamailio's `LOG_FL` with a level
    /// name, such as the debugger's `log_level_name`; nil prints the level's own label), to
    /// the syslog `facility` (0: the configured one). The caller checks the level.
    public static func write(
        _ level: LogLevel, label: String?, module: String, locinfo: String, _ text: String, facility: Int32
    ) {
        emit(
            level, module: module, locinfo: locinfo, text: text, file: "", line: 0, function: "", facility: facility,
            label: label)
    }
}
