import SwiftletSDK

/// registrar's run-time configuration group `registrar` (Kamailio's `registrar/config.c`),
/// for cfg_rpc: its integer variables, read and changed while the server runs (the next
/// REGISTER or lookup uses the new value). Limits as Kamailio's: 0-100 for the ranges,
/// -1-1000 for `default_q`, none for the others.
extension RegistrarModule {
    var cfgVariables: [CfgVariable] {
        // The settings are written here from the RPC thread and read by the workers, as the
        // module parameters are (plain integers).
        nonisolated(unsafe) let module = self
        func int(
            _ name: String, _ description: String, _ range: ClosedRange<Int>?,
            _ get: @escaping @Sendable (RegistrarSettings) -> Int,
            _ set: @escaping @Sendable (inout RegistrarSettings, Int) -> Void
        ) -> CfgVariable {
            CfgVariable(
                name, .int, description, get: { .int(get(module.settings)) },
                set: { v in
                    guard case .int(let i) = v, range?.contains(i) ?? true else { return false }
                    set(&module.settings, i)
                    return true
                })
        }
        return [
            int(
                "default_expires", "Contains number of second to expire if no expire hf or contact expire present",
                nil, { $0.defaultExpires }, { $0.defaultExpires = $1 }),
            int(
                "default_expires_range",
                "Percent from default_expires that will be used in generating the range for the expire interval",
                0...100, { $0.defaultExpiresRange }, { $0.defaultExpiresRange = $1 }),
            int(
                "expires_range",
                "Percent from incoming expires that will be used in generating the range for the expire interval",
                0...100, { $0.expiresRange }, { $0.expiresRange = $1 }),
            int(
                "min_expires", "The minimum expires value of a Contact. Value 0 disables the checking. ", nil,
                { $0.minExpires }, { $0.minExpires = $1 }),
            int(
                "max_expires", "The maximum expires value of a Contact. Value 0 disables the checking. ", nil,
                { $0.maxExpires }, { $0.maxExpires = $1 }),
            int(
                "max_contacts", "The maximum number of Contacts for an AOR. Value 0 disables the checking. ", nil,
                { $0.maxContacts }, { $0.maxContacts = $1 }),
            int(
                "retry_after",
                "If you want to add the Retry-After header field in 5xx replies, set this parameter to a value grater than zero",
                nil, { $0.retryAfter }, { $0.retryAfter = $1 }),
            int(
                "case_sensitive",
                "If set to 1 then AOR comparison will be case sensitive. Recommended and default is 0, case insensitive",
                nil, { $0.caseSensitive ? 1 : 0 }, { $0.caseSensitive = $1 != 0 }),
            int(
                "default_q", "The parameter represents default q value for new contacts.", -1...1000, { $0.defaultQ },
                { $0.defaultQ = $1 }),
            int(
                "append_branches", "If set to 1(default), lookup will put all contacts found in msg structure", nil,
                { $0.appendBranches ? 1 : 0 }, { $0.appendBranches = $1 != 0 }),
            int(
                "use_expired_contacts", "Toggles using expired contacts as if they were active.", nil,
                { $0.useExpiredContacts ? 1 : 0 }, { $0.useExpiredContacts = $1 != 0 }),
        ]
    }
}
