import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// `dlg.dump_file path`: appends one JSON object per dialog to the file, one per line, as
/// Kamailio 5.6's `internal_rpc_dump_file_dlg` writes them (srjson, unformatted).
extension DialogModule {
    var dumpFileRPC: RPCCommand {
        RPCCommand("dlg.dump_file", "Dump all dialogs in a file") { r throws(RPCError) in
            let path = try r.string(0)
            guard let file = fopen(path, "a+") else {
                Log.error("dialog", "failed to open output file: \(path)")
                return .object([])
            }
            defer { fclose(file) }
            for d in self.table.all { fputs(self.dumpLine(d) + "\n", file) }
            return .object([])
        }
    }

    /// One dialog as a JSON line: `h_entry`, `h_id`, `ref`, `call_id`, URIs, state, times,
    /// flags, `caller`/`callee`, `profiles` and `variables` (empty once deleted).
    func dumpLine(_ d: Dialog) -> String {
        let left = secondsLeft(d)
        let t = now
        return table.locked(d) {
            var j = DialogJSONWriter()
            j.number("h_entry", Int(d.hashEntry))
            j.number("h_id", Int(d.hashID))
            j.number("ref", 1)
            j.string("call_id", d.callID)
            j.string("from_uri", d.fromURI)
            j.string("to_uri", d.toURI)
            j.number("state", d.state.rawValue)
            j.number("start_ts", d.startTime)
            j.number("init_ts", d.initTime)
            j.number("end_ts", d.endTime)
            j.number("timeout", left.map { t + $0 } ?? 0)
            j.number("lifetime", d.lifetime)
            j.number("dflags", Int(d.dflags))
            j.number("sflags", Int(d.sflags))
            j.number("iflags", Int(d.iflags))
            for (name, leg) in [("caller", 0), ("callee", 1)] {
                j.open(name)
                j.string("tag", d.tag[leg])
                j.string("contact", d.contact[leg])
                j.string("cseq", d.cseq[leg])
                j.string("route_set", d.routeSet[leg])
                j.string("socket", d.socket[leg]?.description ?? "")
                j.close()
            }
            let alive = d.state.rawValue < DialogState.deleted.rawValue
            j.open("profiles")
            if alive { for link in d.profiles { j.string(link.profile, link.value ?? "") } }
            j.close()
            j.open("variables")
            if alive { for v in d.variables { j.string(v.key, v.value) } }
            j.close()
            return j.finish()
        }
    }
}

/// A JSON object written member by member without spaces, with cJSON's string escapes
/// (the quote, backslash, `\b \f \n \r \t`, other control bytes as `\u00xx`).
struct DialogJSONWriter {
    private var text = "{"
    private var first = true

    mutating func number(_ key: String, _ value: Int) {
        member(key)
        text += String(value)
    }

    mutating func string(_ key: String, _ value: String) {
        member(key)
        Self.quote(value, into: &text)
    }

    mutating func open(_ key: String) {
        member(key)
        text += "{"
        first = true
    }

    mutating func close() {
        text += "}"
        first = false
    }

    mutating func finish() -> String { text + "}" }

    private mutating func member(_ key: String) {
        if !first { text += "," }
        first = false
        Self.quote(key, into: &text)
        text += ":"
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
