import SwiftletSDK

/// The module parameters (Kamailio's names and defaults).
struct DialogSettings {
    var enableStats = true
    var hashSize = 4096
    var rrParam = "did"
    /// `dlg_flag`: the message flag that makes tm's request-in create the dialog; -1 none.
    var dialogFlag = -1
    var timeoutAVP = ""
    var defaultTimeout = 43200
    var extraHeaders = ""
    /// `dlg_match_mode`: 0 the `did` only, 1 `did` then Call-ID and tags, 2 Call-ID and tags.
    var matchMode = 0
    var detectSpirals = true
    var dbURL = ""
    var dbMode = 0
    var dbUpdatePeriod = 60
    var dbFetchRows = 200
    var dbSkipLoad = false
    var columns = DialogColumns()
    var sendBye = false
    var keepAliveTimer = 0
    var keepAliveInterval = 0
    var keepAliveFailedLimit = 1
    var timeoutNoReset = false
    var earlyTimeout = 300
    var noAckTimeout = 60
    var endTimeout = 300
    var calleeHeaders = ""
    var keepProxyRR = 0
    var eventCallback = ""
    var initialCallbacksInScript = false
    var waitAck = 1
    /// `bridge_controller`, `bridge_contact`: the Referred-By and Contact of `dlg_refer`'s REFER.
    var bridgeController = "sip:controller@kamailio.org"
    var bridgeContact = "sip:controller@kamailio.org:5060"
}

/// The `dialog` and `dialog_vars` table and column names (Kamailio's `*_column` parameters).
struct DialogColumns {
    var table = "dialog"
    var callID = "callid"
    var fromURI = "from_uri"
    var fromTag = "from_tag"
    var toURI = "to_uri"
    var toTag = "to_tag"
    var hashID = "hash_id"
    var hashEntry = "hash_entry"
    var state = "state"
    var startTime = "start_time"
    var timeout = "timeout"
    var toCSeq = "callee_cseq"
    var fromCSeq = "caller_cseq"
    var toRoute = "callee_route_set"
    var fromRoute = "caller_route_set"
    var toContact = "callee_contact"
    var fromContact = "caller_contact"
    var toSocket = "callee_sock"
    var fromSocket = "caller_sock"
    var sflags = "sflags"
    var iflags = "iflags"
    var timeoutRouteName = "toroute_name"
    var requestURI = "req_uri"
    var xdata = "xdata"
    var varsTable = "dialog_vars"
    var varsHashID = "hash_id"
    var varsHashEntry = "hash_entry"
    var varsKey = "dialog_key"
    var varsValue = "dialog_value"
}

extension DialogModule {
    var parameters: [ModuleParameter] {
        func int(_ name: String, _ set: @escaping (Int) -> Void) -> ModuleParameter {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in set(v) })
        }
        func string(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        func column(_ name: String, _ path: WritableKeyPath<DialogColumns, String>) -> ModuleParameter {
            string(name) { self.settings.columns[keyPath: path] = $0 }
        }
        return [
            int("enable_stats") { self.settings.enableStats = $0 != 0 },
            int("hash_size") { self.settings.hashSize = $0 },
            string("rr_param") { self.settings.rrParam = $0 },
            string("bridge_controller") { self.settings.bridgeController = $0 },
            string("bridge_contact") { self.settings.bridgeContact = $0 },
            int("dlg_flag") { self.settings.dialogFlag = $0 },
            string("timeout_avp") { self.settings.timeoutAVP = $0 },
            int("default_timeout") { self.settings.defaultTimeout = $0 },
            string("dlg_extra_hdrs") { self.settings.extraHeaders = $0 },
            int("dlg_match_mode") { self.settings.matchMode = $0 },
            int("detect_spirals") { self.settings.detectSpirals = $0 != 0 },
            string("db_url") { self.settings.dbURL = $0 },
            int("db_mode") { self.settings.dbMode = $0 },
            int("db_update_period") { self.settings.dbUpdatePeriod = $0 },
            int("db_fetch_rows") { self.settings.dbFetchRows = $0 },
            int("db_skip_load") { self.settings.dbSkipLoad = $0 != 0 },
            column("table_name", \.table), column("call_id_column", \.callID),
            column("from_uri_column", \.fromURI), column("from_tag_column", \.fromTag),
            column("to_uri_column", \.toURI), column("to_tag_column", \.toTag),
            column("h_id_column", \.hashID), column("h_entry_column", \.hashEntry),
            column("state_column", \.state), column("start_time_column", \.startTime),
            column("timeout_column", \.timeout), column("to_cseq_column", \.toCSeq),
            column("from_cseq_column", \.fromCSeq), column("to_route_column", \.toRoute),
            column("from_route_column", \.fromRoute), column("to_contact_column", \.toContact),
            column("from_contact_column", \.fromContact), column("to_sock_column", \.toSocket),
            column("from_sock_column", \.fromSocket), column("sflags_column", \.sflags),
            column("toroute_name_column", \.timeoutRouteName), column("vars_table_name", \.varsTable),
            column("vars_h_id_column", \.varsHashID), column("vars_h_entry_column", \.varsHashEntry),
            column("vars_key_column", \.varsKey), column("vars_value_column", \.varsValue),
            ModuleParameter(
                "profiles_with_value",
                .string { (v: String) throws(FixupError) in
                    for name in Self.profileNames(v) { try self.profiles.define(name, hasValue: true) }
                }),
            ModuleParameter(
                "profiles_no_value",
                .string { (v: String) throws(FixupError) in
                    for name in Self.profileNames(v) { try self.profiles.define(name, hasValue: false) }
                }),
            int("send_bye") { self.settings.sendBye = $0 != 0 },
            int("ka_timer") { self.settings.keepAliveTimer = $0 },
            int("ka_interval") { self.settings.keepAliveInterval = $0 },
            int("ka_failed_limit") { self.settings.keepAliveFailedLimit = $0 },
            int("timeout_noreset") { self.settings.timeoutNoReset = $0 != 0 },
            int("early_timeout") { self.settings.earlyTimeout = $0 },
            int("noack_timeout") { self.settings.noAckTimeout = $0 },
            int("end_timeout") { self.settings.endTimeout = $0 },
            string("lreq_callee_headers") { self.settings.calleeHeaders = $0 },
            int("keep_proxy_rr") { self.settings.keepProxyRR = $0 },
            string("event_callback") { self.settings.eventCallback = $0 },
            int("initial_cbs_inscript") { self.settings.initialCallbacksInScript = $0 != 0 },
            int("wait_ack") { self.settings.waitAck = $0 },
        ]
    }

    /// `"a; b/s ;c"` → `["a", "b", "c"]` (the `/s` shared marker of DMQ is dropped).
    static func profileNames(_ text: String) -> [String] {
        text.split(separator: ";").compactMap { part in
            var name = String(part).trimmingCharacters()
            if name.hasSuffix("/s") || name.hasSuffix("/S") { name = String(name.dropLast(2)) }
            return name.isEmpty ? nil : name
        }
    }
}
