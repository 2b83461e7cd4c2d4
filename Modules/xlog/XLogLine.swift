import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// One xlog call site: its format, where it is in the configuration (for `xlogl`), and how a
/// line is printed (Kamailio's `xlog_helper`).
struct XLogLine {
    enum Mode { case plain, withLine, methodFiltered }

    let module: XLogModule
    let format: StringFormat
    /// The call's place, for `xlogl`/`xdbgl` (`LINE:` or, with `long_format`, `FILE:LINE:`).
    let location: SourceLocation?

    init(module: XLogModule, format: StringFormat, at location: SourceLocation?) {
        self.module = module
        self.format = format
        self.location = location
    }

    /// Prints the line at `level`: 1, or -1 (and no line) when it is longer than `buf_size`.
    func print(_ level: LogLevel, _ ctx: MessageContext, facility: Int32?) -> Int {
        var text = format.render(ctx)
        guard text.utf8.count < module.bufferSize else {
            Log.error("xlog", "buffer overflow -- increase the buffer size (buf_size \(module.bufferSize))")
            return -1
        }
        if let location {
            text = module.longFormat == 1 ? "\(location.file):\(location.line):\(text)" : "\(location.line):\(text)"
        }
        var prefix = module.prefix
        if let dynamic = module.prefixFormat {
            let p = dynamic.render(ctx)
            if !p.isEmpty { prefix = p }
        }
        if let f = facility ?? module.facility {
            Log.write(level, module: "xlog", locinfo: prefix, text, facility: f)
        } else {
            Log.write(level, module: "xlog", locinfo: prefix, text)
        }
        return 1
    }

    /// Syslog facilities by name (`LOG_LOCAL0` ...), as Kamailio's `str2facility`.
    static let facilities: [String: Int32] = [
        "LOG_AUTH": LOG_AUTH, "LOG_CRON": LOG_CRON, "LOG_DAEMON": LOG_DAEMON, "LOG_KERN": LOG_KERN,
        "LOG_LOCAL0": LOG_LOCAL0, "LOG_LOCAL1": LOG_LOCAL1, "LOG_LOCAL2": LOG_LOCAL2, "LOG_LOCAL3": LOG_LOCAL3,
        "LOG_LOCAL4": LOG_LOCAL4, "LOG_LOCAL5": LOG_LOCAL5, "LOG_LOCAL6": LOG_LOCAL6, "LOG_LOCAL7": LOG_LOCAL7,
        "LOG_LPR": LOG_LPR, "LOG_MAIL": LOG_MAIL, "LOG_NEWS": LOG_NEWS, "LOG_USER": LOG_USER, "LOG_UUCP": LOG_UUCP,
        "LOG_AUTHPRIV": LOG_AUTHPRIV, "LOG_FTP": LOG_FTP, "LOG_SYSLOG": LOG_SYSLOG,
    ]

    /// Kamailio's method bits (`METHOD_INVITE` 1, `CANCEL` 2, `ACK` 4, ... `OTHER` 2^19).
    static func methodBit(_ method: String) -> Int {
        let order = [
            "INVITE", "CANCEL", "ACK", "BYE", "INFO", "REGISTER", "SUBSCRIBE", "NOTIFY", "MESSAGE", "OPTIONS",
            "PRACK", "UPDATE", "REFER", "PUBLISH", "KDMQ", "GET", "POST", "PUT", "DELETE",
        ]
        guard let i = order.firstIndex(of: method) else { return 1 << 19 }
        return 1 << i
    }
}
