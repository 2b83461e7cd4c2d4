/// Kamailio's `log_engine_type` / `log_engine_data` core parameters and its custom log
/// function (`km_log_func_set`): a module (log_custom) reads the configured engine and may
/// install a writer that takes the place of syslog for every printed line. Lines written to
/// stderr (`log_stderror=yes`) and JSON lines are not passed to it, as in Kamailio.
public enum LogEngine {
    /// A custom writer: the syslog priority (level and facility) and the formatted line
    /// (`LEVEL: {prefix}origin [file:line]: function(): text`, ending in a line break).
    public typealias Writer = @Sendable (_ priority: Int32, _ line: String) -> Void

    /// `log_engine_type` of the configuration (nil when not set). Set by the core before
    /// modules load.
    nonisolated(unsafe) public private(set) static var type: String?
    /// `log_engine_data` of the configuration (nil when not set).
    nonisolated(unsafe) public private(set) static var data: String?
    /// The installed writer, nil for syslog.
    nonisolated(unsafe) public private(set) static var writer: Writer?

    /// Records the configured engine (the core, while loading a configuration) and removes a
    /// writer a previous configuration installed.
    public static func configure(type: String?, data: String?) {
        self.type = type
        self.data = data
        writer = nil
    }

    /// Installs `writer` in place of syslog (Kamailio's `km_log_func_set`); nil goes back to
    /// syslog. Call before worker threads start (`child_init` of the initial rank).
    public static func setWriter(_ writer: Writer?) { self.writer = writer }
}
