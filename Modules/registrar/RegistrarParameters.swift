import SwiftletSDK

extension RegistrarModule {
    /// registrar's `modparam`s with Kamailio's names and defaults.
    var parameters: [ModuleParameter] {
        func int(_ name: String, _ set: @escaping (inout RegistrarSettings, Int) throws(FixupError) -> Void)
            -> ModuleParameter
        {
            ModuleParameter(name, .int { (v: Int) throws(FixupError) in try set(&self.settings, v) })
        }
        func string(_ name: String, _ set: @escaping (inout RegistrarSettings, String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(&self.settings, v) })
        }
        func percent(_ v: Int, _ name: String) throws(FixupError) -> Int {
            guard (0...100).contains(v) else { throw FixupError("\(name) must be 0-100, got \(v)") }
            return v
        }
        return [
            int("default_expires") { $0.defaultExpires = $1 },
            int("default_expires_range") { (s, v) throws(FixupError) in
                s.defaultExpiresRange = try percent(v, "default_expires_range")
            },
            int("expires_range") { (s, v) throws(FixupError) in s.expiresRange = try percent(v, "expires_range") },
            int("min_expires") { $0.minExpires = $1 },
            int("max_expires") { $0.maxExpires = $1 },
            int("max_contacts") { $0.maxContacts = $1 },
            int("retry_after") { $0.retryAfter = $1 },
            int("case_sensitive") { $0.caseSensitive = $1 != 0 },
            int("default_q") { $0.defaultQ = $1 < 0 ? UsrlocContact.qUnspecified : min($1, 1000) },
            int("append_branches") { $0.appendBranches = $1 != 0 },
            int("use_expired_contacts") { $0.useExpiredContacts = $1 != 0 },
            string("realm_prefix") { $0.realmPrefix = $1 },
            string("received_param") { $0.receivedParam = $1 },
            string("received_avp") { $0.receivedAVP = $1 },
            int("method_filtering") { $0.methodFiltering = $1 != 0 },
            int("use_path") { $0.usePath = $1 != 0 },
            int("path_mode") { (s, v) throws(FixupError) in
                guard (0...2).contains(v) else { throw FixupError("path_mode must be 0-2, got \(v)") }
                s.pathMode = v
            },
            int("path_use_received") { $0.pathUseReceived = $1 != 0 },
            int("path_check_local") { $0.pathCheckLocal = $1 != 0 },
            string("xavp_cfg") { $0.xavpCfg = $1.isEmpty ? nil : $1 },
            string("xavp_rcd") { $0.xavpRcd = $1.isEmpty ? nil : $1 },
            int("xavp_rcd_mask") { $0.xavpRcdMask = $1 },
            int("gruu_enabled") { $0.gruuEnabled = $1 != 0 },
            int("contact_max_size") { $0.contactMaxSize = $1 },
            int("min_expires_mode") { $0.minExpiresMode = $1 != 0 },
            int("outbound_mode") { (_, v) throws(FixupError) in
                guard v == 0 else { throw FixupError("outbound_mode \(v) is not supported yet (only 0)") }
            },
        ]
    }
}
