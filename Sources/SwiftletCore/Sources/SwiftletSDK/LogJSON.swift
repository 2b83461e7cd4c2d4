/// Kamailio 5.6's JSON log engine (`--log-engine=json[:flags]`, `ksr_slog_json` in
/// `core/dprint.c`): one JSON object per line, on stderr
/// `{ "idx": 1, "pid": 4231, "level": "INFO", "module": "xlog", "file": "", "line": 0,
/// "function": "", "logprefix": "...", "message": "text\n" }`, to syslog the same without
/// `idx` and `pid`.
///
/// Flags (letters after `json:`), as Kamailio's: `c` adds `"callid"` (the message's Call-ID),
/// `j` writes a message (or prefix) that is itself a JSON object `{...}` as a value instead of
/// a string and wraps other text as `{ "text": "..." }`, `M` strips the message's final line
/// break, `N` prints no line break after the object, `p` leaves out `"logprefix"` when the
/// prefix is empty and prints a prefix starting with `,` as it is (extra fields).
/// Not supported: `a`/`A` (Kamailio's output with them is not valid JSON) and `U` (CEE).
public struct LogJSON: Sendable, Equatable {
    public var callID = false
    public var messageJSON = false
    public var stripMessageNewline = false
    public var noNewline = false
    public var prefixField = false

    /// Parses `json` or `json:<flags>`; nil for another engine name.
    public init?(engine: String) {
        let parts = engine.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts[0].lowercased() == "json" else { return nil }
        for c in parts.count > 1 ? parts[1] : "" {
            switch c {
            case "c": callID = true
            case "j": messageJSON = true
            case "M": stripMessageNewline = true
            case "N": noNewline = true
            case "p": prefixField = true
            default: break
            }
        }
    }

    /// The values of one line.
    struct Fields {
        var rank: Int
        var pid: Int32
        var level: LogLevel
        var module: String
        var file: String
        var line: Int
        var function: String
        var callID: String
        var prefix: String
        var message: String
    }

    /// The line for `f`, ending with a line break unless `N`.
    func line(_ f: Fields, stderr: Bool) -> String {
        var message = f.message
        if stripMessageNewline, message.hasSuffix("\n") { message.removeLast() }
        var (mb, me, pb, pe) = ("\"", "\"", "\"", "\"")
        var escaped: String
        if messageJSON {
            if message.count > 1, message.hasPrefix("{"), message.hasSuffix("}") {
                (mb, me) = ("", "")
                escaped = message
            } else {
                (mb, me) = ("{ \"text\": \"", "\" }")
                escaped = LogJSON.escape(message)
            }
            if f.prefix.count > 1, f.prefix.hasPrefix("{"), f.prefix.hasSuffix("}") {
                (pb, pe) = ("", "")
            } else {
                (pb, pe) = ("{ \"text\": \"", "\" }")
            }
        } else {
            escaped = LogJSON.escape(message)
        }
        var prefixName = ", \"logprefix\": "
        if prefixField, f.prefix.isEmpty || (f.prefix.count > 1 && f.prefix.hasPrefix(",")) {
            (prefixName, pb, pe) = ("", "", "")
        }
        var out = "{ "
        if stderr { out += "\"idx\": \(f.rank), \"pid\": \(f.pid), " }
        out += "\"level\": \"\(f.level.label)\", \"module\": \"\(f.module)\", \"file\": \"\(f.file)\","
        out += " \"line\": \(f.line), \"function\": \"\(f.function)\""
        if callID { out += ", \"callid\": \"\(f.callID)\"" }
        out += "\(prefixName)\(pb)\(f.prefix)\(pe), \"message\": \(mb)\(escaped)\(me) }"
        if !noNewline { out += "\n" }
        return out
    }

    /// `text` as the inside of a JSON string (Kamailio's `ksr_str_json_escape`).
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for u in text.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 32 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}
