import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio's log levels (the values of `debug=` and of xlog's `L_*` names).
public enum LogLevel: Int, Comparable, Sendable {
    case alert = -5, bug = -4, crit2 = -3, crit = -2, error = -1, warning = 0, notice = 1, info = 2, debug = 3

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    /// The level for a `debug=` value (values above 3 are debug, below -5 alert).
    public init(debugValue: Int) { self = LogLevel(rawValue: min(3, max(-5, debugValue)))! }

    /// `L_ALERT`, `L_BUG`, `L_CRIT2`, `L_CRIT`, `L_ERR`, `L_WARN`, `L_NOTICE`, `L_INFO`, `L_DBG`.
    public init?(kamailioName: String) {
        switch kamailioName {
        case "L_ALERT": self = .alert
        case "L_BUG": self = .bug
        case "L_CRIT2": self = .crit2
        case "L_CRIT": self = .crit
        case "L_ERR": self = .error
        case "L_WARN": self = .warning
        case "L_NOTICE": self = .notice
        case "L_INFO": self = .info
        case "L_DBG": self = .debug
        default: return nil
        }
    }

    /// The label printed on stderr lines, as Kamailio prints it.
    public var label: String {
        switch self {
        case .alert: "ALERT"
        case .bug: "BUG"
        case .crit2, .crit: "CRITICAL"
        case .error: "ERROR"
        case .warning: "WARNING"
        case .notice: "NOTICE"
        case .info: "INFO"
        case .debug: "DEBUG"
        }
    }

    /// The syslog priority.
    public var syslogPriority: Int32 {
        switch self {
        case .alert: LOG_ALERT
        case .bug, .crit2, .crit: LOG_CRIT
        case .error: LOG_ERR
        case .warning: LOG_WARNING
        case .notice: LOG_NOTICE
        case .info: LOG_INFO
        case .debug: LOG_DEBUG
        }
    }
}

/// The process-wide logger. Configured once at start-up (level, destination, format), then
/// used from every thread. Lines look like Kamailio's:
/// ` 1(4231) ERROR: {prefix}<script>: text` (worker rank, process id, level, the evaluated
/// `log_prefix` while a message is processed, origin, text), or one JSON object per line
/// with `--log-engine=json` (see `LogJSON`).
///
/// Cost: a line above the level is one compare (`enabled`); only printed lines read the
/// per-thread state (the message's log prefix, a `setdebug` level).
public enum Log {
    /// Where lines go.
    public enum Destination: Sendable {
        case stderr
        case syslog(facility: Int32)
    }

    /// The highest level any thread prints: the configured level, raised while some worker
    /// has a higher local level (`setdebug`). `enabled` compares with this first. Atomic:
    /// kex's `setdebug` raises it from a worker while others read it.
    public static var level: LogLevel { LogLevel(rawValue: levelValue.load(ordering: .relaxed)) ?? .warning }
    static let levelValue = Atomic<Int>(LogLevel.warning.rawValue)
    /// The `debug=` level (what `resetdebug()` goes back to). Written before workers start.
    nonisolated(unsafe) public private(set) static var configuredLevel: LogLevel = .warning
    /// Set once a thread used `setdebug`: printed lines then check the thread's own level.
    static var localLevelsUsed: Bool { localLevels.load(ordering: .relaxed) }
    private static let localLevels = Atomic<Bool>(false)
    nonisolated(unsafe) private static var destination: Destination = .stderr
    nonisolated(unsafe) private static var pid: Int32 = getpid()
    /// The JSON line format (`--log-engine=json[:flags]`), nil for Kamailio's plain lines.
    nonisolated(unsafe) public private(set) static var json: LogJSON? = nil
    private static let rankKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Sets the level and destination. Call before any worker thread starts.
    public static func configure(level: LogLevel, destination: Destination, name: String = "swiftlet") {
        levelValue.store(level.rawValue, ordering: .relaxed)
        self.configuredLevel = level
        self.destination = destination
        self.pid = getpid()
        if case .syslog(let facility) = destination {
            openlog(strdup(name), LOG_PID | LOG_CONS, facility)
        }
    }

    /// Changes the `debug=` level while the server runs (cfg_rpc's `cfg.set core debug`). A
    /// worker's own `setdebug` level keeps applying to that worker, as in Kamailio.
    public static func setConfiguredLevel(_ level: LogLevel) {
        configuredLevel = level
        levelValue.store(
            localLevelsUsed ? max(level.rawValue, levelValue.load(ordering: .relaxed)) : level.rawValue,
            ordering: .relaxed)
    }

    /// Selects the line format: `json[:flags]` (Kamailio's `--log-engine`), or nil for the
    /// plain format. Call before any worker thread starts.
    public static func setEngine(_ engine: LogJSON?) { json = engine }

    /// True when lines go to stderr.
    public static var logsToStderr: Bool {
        if case .stderr = destination { return true }
        return false
    }

    /// Re-reads the process id (after a daemonizing fork).
    public static func processChanged() { pid = getpid() }

    /// Records the calling thread's worker rank (printed at the start of each line).
    public static func setRank(_ rank: Int) {
        pthread_setspecific(rankKey, UnsafeRawPointer(bitPattern: rank &+ 0x1000))
    }

    static var rank: Int {
        guard let p = pthread_getspecific(rankKey) else { return 0 }
        return Int(bitPattern: p) - 0x1000
    }

    /// True when lines of `level` are printed by the calling thread.
    @inline(__always) public static func enabled(_ level: LogLevel) -> Bool {
        level <= self.level && (!localLevelsUsed || level <= LogThreadState.current.effectiveLevel)
    }

    /// Sets the calling worker's own level (kex `setdebug`), nil to go back to `debug=`
    /// (`resetdebug`). As in Kamailio it stays until reset, across messages.
    public static func setLocalLevel(_ local: LogLevel?) {
        LogThreadState.current.localLevel = local
        guard let local else { return }
        localLevels.store(true, ordering: .relaxed)
        // Raise the process level to the highest local level (never lower it here).
        var current = levelValue.load(ordering: .relaxed)
        while local.rawValue > current {
            let (exchanged, original) = levelValue.compareExchange(
                expected: current, desired: local.rawValue, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }

    /// Logs `message` from `origin` (a module name, `core` or `script`) at `level`.
    public static func log(
        _ level: LogLevel, _ origin: String, _ message: @autoclosure () -> String, file: String = #fileID,
        line: Int = #line, function: String = #function
    ) {
        var facility: Int32 = 0
        if let levels = moduleLevels {
            guard levels.allows(level, origin) else { return }
            facility = levels.facility(of: origin) ?? 0
        } else {
            guard enabled(level) else { return }
        }
        emit(
            level, module: origin, locinfo: locationInfo(origin, file: file, line: line, function: function),
            text: message() + "\n", file: file, line: line, function: function, facility: facility)
    }

    /// Kamailio's `LOC_INFO` part of a line, which log pipelines parse:
    /// `<core> [core/Server.swift:120]: run(): ` for the core, `tm [TMModule.swift:88]: relay(): `
    /// for a module (the Swift function without its argument labels).
    static func locationInfo(_ origin: String, file: String, line: Int, function: String) -> String {
        let fileName = file.split(separator: "/").last.map(String.init) ?? file
        let name = function.split(separator: "(", maxSplits: 1).first.map(String.init) ?? function
        return origin == "core"
            ? "<core> [core/\(fileName):\(line)]: \(name)(): " : "\(origin) [\(fileName):\(line)]: \(name)(): "
    }

    /// Writes an already formatted text (the `log()` core action) at `level`; adds a line
    /// break if missing.
    public static func write(_ level: LogLevel, _ text: String) {
        guard enabled(level) else { return }
        emit(level, module: "core", locinfo: "", text: text, file: "", line: 0, function: "")
    }

    /// Writes a script log line (xlog): `locinfo` (xlog's `prefix`, `<script>: `) comes
    /// before `text` in plain lines and is left out of JSON ones, as in Kamailio.
    public static func write(_ level: LogLevel, module: String, locinfo: String, _ text: String) {
        guard enabled(level, module: module) else { return }
        emit(
            level, module: module, locinfo: locinfo, text: text, file: "", line: 0, function: "",
            facility: moduleLevels?.facility(of: module) ?? 0)
    }

    /// As `write(_:module:locinfo:_:)`, to the syslog `facility` (a `LOG_*` facility value)
    /// instead of the configured one when logging to syslog (xlog's `log_facility`).
    public static func write(_ level: LogLevel, module: String, locinfo: String, _ text: String, facility: Int32) {
        guard enabled(level, module: module) else { return }
        emit(level, module: module, locinfo: locinfo, text: text, file: "", line: 0, function: "", facility: facility)
    }

    static func emit(
        _ level: LogLevel, module: String, locinfo: String, text: String, file: String, line: Int, function: String,
        facility: Int32 = 0, label: String? = nil
    ) {
        let state = LogThreadState.current
        let prefix = state.prefixForLine()
        var out: String
        if let json {
            out = json.line(
                LogJSON.Fields(
                    rank: rank, pid: pid, level: level, module: module, file: file, line: line, function: function,
                    callID: state.callID, prefix: prefix, message: text), stderr: logsToStderr)
        } else {
            out = "\(label ?? level.label): \(prefix)\(locinfo)\(text)"
        }
        switch destination {
        case .stderr:
            if json == nil {
                let r = rank
                out = r < 10 && r >= 0 ? " \(r)(\(pid)) " + out : "\(r)(\(pid)) " + out
                if !out.hasSuffix("\n") { out += "\n" }
            }
            writeStderr(out)
        case .syslog:
            if json == nil, let writer = LogEngine.writer {
                if !out.hasSuffix("\n") { out += "\n" }
                writer(level.syslogPriority | facility, out)
                return
            }
            if out.hasSuffix("\n") { out.removeLast() }
            out.withCString { p in withVaList([p]) { vsyslog(level.syslogPriority | facility, "%s", $0) } }
        }
    }

    private static func writeStderr(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(2, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { break }
                off += n
            }
        }
    }

    public static func error(
        _ origin: String, _ message: @autoclosure () -> String, file: String = #fileID, line: Int = #line,
        function: String = #function
    ) { log(.error, origin, message(), file: file, line: line, function: function) }
    public static func warning(
        _ origin: String, _ message: @autoclosure () -> String, file: String = #fileID, line: Int = #line,
        function: String = #function
    ) { log(.warning, origin, message(), file: file, line: line, function: function) }
    public static func notice(
        _ origin: String, _ message: @autoclosure () -> String, file: String = #fileID, line: Int = #line,
        function: String = #function
    ) { log(.notice, origin, message(), file: file, line: line, function: function) }
    public static func info(
        _ origin: String, _ message: @autoclosure () -> String, file: String = #fileID, line: Int = #line,
        function: String = #function
    ) { log(.info, origin, message(), file: file, line: line, function: function) }
    public static func debug(
        _ origin: String, _ message: @autoclosure () -> String, file: String = #fileID, line: Int = #line,
        function: String = #function
    ) { log(.debug, origin, message(), file: file, line: line, function: function) }
}
