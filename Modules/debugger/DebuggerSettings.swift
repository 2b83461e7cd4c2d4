import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The debugger module's parameters (Kamailio 5.6 names and defaults), set by `modparam`
/// before start-up and read-only afterwards.
final class DebuggerSettings: @unchecked Sendable {
    /// `cfgtrace`: 1 traces every worker from start-up.
    var cfgtrace = 0
    /// `cfgtrace_format`: bit 1 leaves the `c=[file]` part out.
    var cfgtraceFormat = 0
    /// `log_level`: the level of the trace lines (-1, `L_ERR`).
    var logLevel = -1
    /// `log_facility`: the syslog facility of the trace lines (`LOG_LOCAL0` ...).
    var logFacility: String?
    var facility: Int32 = 0
    /// The facility `dbg.get_mod_facility` gives a module without one (Kamailio's default
    /// `log_facility`).
    let defaultFacility: Int32 = LOG_DAEMON
    /// `log_prefix`
    var logPrefix = "*** cfgtrace:"
    /// `log_level_name`: printed instead of the level's name (`exec`).
    var logLevelName: String?
    /// `cfgpkgcheck`
    var cfgpkgcheck = 0
    /// `mod_hash_size`: 0 disables the per-module levels and facilities (as in Kamailio,
    /// `mod_level`/`mod_facility` then fail); any value above enables them.
    var modHashSize = 0
    /// `step_usleep`, `step_loops`: breakpoint stepping, which Swiftlet does not have.
    var stepUsleep = 100_000
    var stepLoops = 200

    /// The level of the trace lines as a `LogLevel`.
    var level: LogLevel { LogLevel(debugValue: logLevel) }

    /// Syslog facilities by name (Kamailio's `str2facility`).
    static func facility(named name: String) -> Int32? {
        let table: [String: Int32] = [
            "LOG_AUTH": LOG_AUTH, "LOG_CRON": LOG_CRON, "LOG_DAEMON": LOG_DAEMON, "LOG_KERN": LOG_KERN,
            "LOG_LOCAL0": LOG_LOCAL0, "LOG_LOCAL1": LOG_LOCAL1, "LOG_LOCAL2": LOG_LOCAL2, "LOG_LOCAL3": LOG_LOCAL3,
            "LOG_LOCAL4": LOG_LOCAL4, "LOG_LOCAL5": LOG_LOCAL5, "LOG_LOCAL6": LOG_LOCAL6, "LOG_LOCAL7": LOG_LOCAL7,
            "LOG_LPR": LOG_LPR, "LOG_MAIL": LOG_MAIL, "LOG_NEWS": LOG_NEWS, "LOG_USER": LOG_USER, "LOG_UUCP": LOG_UUCP,
            "LOG_AUTHPRIV": LOG_AUTHPRIV, "LOG_FTP": LOG_FTP, "LOG_SYSLOG": LOG_SYSLOG,
        ]
        return table[name]
    }

    /// The name of a facility value (Kamailio's `facility2str`), nil for an unknown one.
    static func name(ofFacility value: Int32) -> String? {
        for n in [
            "LOG_AUTH", "LOG_CRON", "LOG_DAEMON", "LOG_KERN", "LOG_LOCAL0", "LOG_LOCAL1", "LOG_LOCAL2", "LOG_LOCAL3",
            "LOG_LOCAL4", "LOG_LOCAL5", "LOG_LOCAL6", "LOG_LOCAL7", "LOG_LPR", "LOG_MAIL", "LOG_NEWS", "LOG_USER",
            "LOG_UUCP", "LOG_AUTHPRIV", "LOG_FTP", "LOG_SYSLOG",
        ] where facility(named: n) == value {
            return n
        }
        return nil
    }
}
