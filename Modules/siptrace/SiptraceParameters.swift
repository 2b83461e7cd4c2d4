import SwiftletSDK

/// siptrace's `modparam`s, with Kamailio 5.6's names and defaults.
extension SiptraceModule {
    var parameters: [ModuleParameter] {
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        func str(_ name: String, _ set: @escaping (String) throws(FixupError) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in try set(v) })
        }
        func column(_ param: String, _ key: String) -> ModuleParameter {
            str(param) { self.db.columns[key] = $0 }
        }
        return [
            str("auth_key") { self.sender.authKey = $0.isEmpty ? nil : Array($0.utf8) },
            str("db_url") { self.db.url = $0 },
            str("table") { self.db.table = $0 },
            column("date_column", "date"), column("callid_column", "callid"),
            column("traced_user_column", "traced_user"), column("msg_column", "msg"),
            column("method_column", "method"), column("status_column", "status"),
            column("fromip_column", "fromip"), column("toip_column", "toip"),
            column("fromtag_column", "fromtag"), column("totag_column", "totag"),
            column("direction_column", "direction"),
            int("trace_flag") { self.traceFlag = $0 },
            int("trace_on") { self.traceOnParam = $0 },
            str("traced_user_avp") { (v: String) throws(FixupError) in self.tracedUserAVP = try Self.avpName(v) },
            str("trace_table_avp") { (v: String) throws(FixupError) in self.traceTableAVP = try Self.avpName(v) },
            str("duplicate_uri") { self.sender.duplicateText = $0.isEmpty ? nil : $0 },
            int("trace_to_database") { self.traceToDatabase = $0 },
            str("trace_local_ip") { self.localIP = $0.isEmpty ? nil : $0 },
            int("trace_ephemeral_socket") { _ in },
            int("trace_sl_acks") { _ in },
            int("xheaders_write") { self.sender.xheadersWrite = $0 != 0 },
            int("xheaders_read") { self.xheadersRead = $0 != 0 },
            int("hep_mode_on") { self.sender.hepMode = $0 != 0 },
            str("force_send_sock") { self.sender.sendSocketAddress = $0 },
            str("send_sock_addr") { self.sender.sendSocketAddress = $0 },
            str("send_sock_name") { self.sender.sendSocketName = $0 },
            int("hep_version") { self.sender.hepVersion = $0 },
            int("hep_capture_id") { self.sender.captureID = $0 },
            int("trace_delayed") { _ in },
            int("trace_db_mode") { _ in },
            int("trace_init_mode") { self.initMode = $0 },
            int("trace_mode") { self.traceMode = $0 },
            int("data_mode") { self.dataMode = $0 },
            str("evcb_msg") { (v: String) throws(FixupError) in
                throw FixupError(
                    "siptrace: evcb_msg names a KEMI function; Swiftlet has no KEMI (use event_route[siptrace:msg])")
            },
            int("trace_dialog_ack") { _ in },
            int("trace_dialog_spiral") { _ in },
        ]
    }

    /// The AVP name of `$avp(name)` (`s:name` → `name`, `i:5` → `#5`), as the core keys AVPs.
    static func avpName(_ text: String) throws(FixupError) -> String {
        var t = Substring(text)
        guard t.hasPrefix("$avp("), t.hasSuffix(")") else {
            throw FixupError("siptrace: invalid AVP definition \(text) (expected $avp(name))")
        }
        t = t.dropFirst(5).dropLast()
        if t.hasPrefix("s:") { return String(t.dropFirst(2)) }
        if t.hasPrefix("i:") { return "#" + t.dropFirst(2) }
        return String(t)
    }
}
