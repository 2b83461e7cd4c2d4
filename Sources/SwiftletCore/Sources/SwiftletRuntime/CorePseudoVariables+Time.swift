import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Time pseudo-variables (Kamailio's pv_time.c): `$time(name)` / `$utime(name)` (local / UTC
/// broken-down time: sec min hour mday mon year wday yday isdst), `$timef(fmt)` /
/// `$utimef(fmt)` (strftime), `$TV(s|u|sn|un|Sn|Fn)` and `$Tb` (start-up time).
extension CorePseudoVariables {
    /// When the server started (`$Tb`); set when the core PVs are registered at start-up.
    nonisolated(unsafe) static var startTime = time(nil)

    static func markStartTime() { startTime = time(nil) }

    static var timeClasses: [PseudoVariableClass] {
        [
            PseudoVariableClass("time") { (pv: PseudoVariableName) throws(FixupError) in try brokenDown(pv, utc: false)
            },
            PseudoVariableClass("utime") { (pv: PseudoVariableName) throws(FixupError) in try brokenDown(pv, utc: true)
            },
            PseudoVariableClass("timef") { (pv: PseudoVariableName) throws(FixupError) in try strftimePV(pv, utc: false)
            },
            PseudoVariableClass("utimef") { (pv: PseudoVariableName) throws(FixupError) in try strftimePV(pv, utc: true)
            },
            PseudoVariableClass("TV", make: timeValue),
            .readOnly("Tb") { _ in .int(startTime) },
        ]
    }

    static func tmNow(utc: Bool) -> tm {
        var t = time(nil)
        var out = tm()
        if utc { gmtime_r(&t, &out) } else { localtime_r(&t, &out) }
        return out
    }

    static func brokenDown(_ pv: PseudoVariableName, utc: Bool) throws(FixupError) -> PseudoVariable {
        let name = pv.inner ?? ""
        let fields: [String: (tm) -> Int] = [
            "sec": { Int($0.tm_sec) }, "min": { Int($0.tm_min) }, "hour": { Int($0.tm_hour) },
            "mday": { Int($0.tm_mday) }, "mon": { Int($0.tm_mon) + 1 }, "year": { Int($0.tm_year) + 1900 },
            "wday": { Int($0.tm_wday) + 1 }, "yday": { Int($0.tm_yday) + 1 }, "isdst": { Int($0.tm_isdst) },
        ]
        guard let field = fields[name], pv.index == nil else { throw FixupError("unknown PV time name \(name)") }
        return PseudoVariable(text: pv.text) { _ in .int(field(tmNow(utc: utc))) }
    }

    static func strftimePV(_ pv: PseudoVariableName, utc: Bool) throws(FixupError) -> PseudoVariable {
        guard let format = pv.inner, !format.isEmpty, pv.index == nil else {
            throw FixupError("$\(pv.className) needs a strftime format: $\(pv.className)(%Y-%m-%d)")
        }
        return PseudoVariable(text: pv.text) { _ in
            var t = tmNow(utc: utc)
            return formatTime(format, &t).map(PVValue.string) ?? .null
        }
    }

    /// strftime into 64 bytes (Kamailio's buffer): nil when empty or too long.
    static func formatTime(_ format: String, _ t: inout tm) -> String? {
        var buf = [CChar](repeating: 0, count: 64)
        let n = strftime(&buf, 64, format, &t)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `$TV(s)`/`$TV(sn)` seconds, `$TV(u)`/`$TV(un)` microseconds, `$TV(Sn)` `sec.usec`,
    /// `$TV(Fn)` `YYYY-mm-dd HH:MM:SS.usec` (local).
    static func timeValue(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        let name = pv.inner ?? "s"
        guard ["s", "u", "sn", "un", "Sn", "Fn"].contains(name), pv.index == nil else {
            throw FixupError("unknown PV timeval name \(name)")
        }
        return PseudoVariable(text: pv.text) { _ in
            var tv = timeval()
            gettimeofday(&tv, nil)
            let usec = String(Int(tv.tv_usec))
            let usec6 = String(repeating: "0", count: max(0, 6 - usec.count)) + usec
            switch name {
            case "u", "un": return .int(Int(tv.tv_usec))
            case "Sn": return .string("\(tv.tv_sec).\(usec6)")
            case "Fn":
                var t = tm()
                var s = tv.tv_sec
                localtime_r(&s, &t)
                return formatTime("%Y-%m-%d %H:%M:%S", &t).map { .string("\($0).\(usec6)") } ?? .null
            default: return .int(Int(tv.tv_sec))
            }
        }
    }
}
