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

/// The process-wide logger. Configured once at start-up (level, destination), then used
/// from every thread. Lines look like Kamailio's:
/// ` 1(4231) ERROR: <script>: text` (worker rank, process id, level, origin, text).
public enum Log {
    /// Where lines go.
    public enum Destination: Sendable {
        case stderr
        case syslog(facility: Int32)
    }

    nonisolated(unsafe) public private(set) static var level: LogLevel = .warning
    nonisolated(unsafe) private static var destination: Destination = .stderr
    nonisolated(unsafe) private static var pid: Int32 = getpid()
    private static let rankKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Sets the level and destination. Call before any worker thread starts.
    public static func configure(level: LogLevel, destination: Destination, name: String = "swiftlet") {
        self.level = level
        self.destination = destination
        self.pid = getpid()
        if case .syslog(let facility) = destination {
            openlog(strdup(name), LOG_PID | LOG_CONS, facility)
        }
    }

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

    private static var rank: Int {
        guard let p = pthread_getspecific(rankKey) else { return 0 }
        return Int(bitPattern: p) - 0x1000
    }

    /// True when lines of `level` are printed.
    @inline(__always) public static func enabled(_ level: LogLevel) -> Bool { level <= self.level }

    /// Logs `message` from `origin` (a module name, `core` or `script`) at `level`.
    public static func log(_ level: LogLevel, _ origin: String, _ message: @autoclosure () -> String) {
        guard enabled(level) else { return }
        write(level, "<\(origin)> \(message())")
    }

    /// Writes an already formatted text (xlog output) at `level`; adds a line break if missing.
    public static func write(_ level: LogLevel, _ text: String) {
        guard enabled(level) else { return }
        switch destination {
        case .stderr:
            var line =
                rank < 10 && rank >= 0
                ? " \(rank)(\(pid)) \(level.label): \(text)" : "\(rank)(\(pid)) \(level.label): \(text)"
            if !line.hasSuffix("\n") { line += "\n" }
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { buf in
                var off = 0
                while off < buf.count {
                    let n = Glibc.write(2, buf.baseAddress! + off, buf.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
        case .syslog:
            let t = text.hasSuffix("\n") ? String(text.dropLast()) : text
            t.withCString { p in withVaList([p]) { vsyslog(level.syslogPriority, "%s", $0) } }
        }
    }

    public static func error(_ origin: String, _ message: @autoclosure () -> String) { log(.error, origin, message()) }
    public static func warning(_ origin: String, _ message: @autoclosure () -> String) {
        log(.warning, origin, message())
    }
    public static func notice(_ origin: String, _ message: @autoclosure () -> String) {
        log(.notice, origin, message())
    }
    public static func info(_ origin: String, _ message: @autoclosure () -> String) { log(.info, origin, message()) }
    public static func debug(_ origin: String, _ message: @autoclosure () -> String) { log(.debug, origin, message()) }
}
