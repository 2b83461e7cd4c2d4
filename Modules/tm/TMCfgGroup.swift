import SwiftletSDK

/// tm's run-time configuration group `tm` (Kamailio's `tm/config.c`), for cfg_rpc: the
/// integer variables Swiftlet's tm has, read and changed while the server runs. A change
/// applies to what starts afterwards (a transaction's timers are armed with the values of
/// that moment), as in Kamailio. Limits as Kamailio's (0/1 flags, `default_code` 400-699);
/// a value outside them is refused.
extension TransactionManager {
    var cfgVariables: [CfgVariable] {
        func int(
            _ name: String, _ description: String, _ range: ClosedRange<Int>?,
            _ get: @escaping @Sendable (TMSettings) -> Int, _ set: @escaping @Sendable (inout TMSettings, Int) -> Void
        ) -> CfgVariable {
            CfgVariable(
                name, .int, description, get: { .int(get(self.settings)) },
                set: { v in
                    guard case .int(let i) = v, range.map({ $0.contains(i) }) ?? (i >= 0) else { return false }
                    set(&self.settings, i)
                    return true
                })
        }
        func flag(
            _ name: String, _ description: String, _ get: @escaping @Sendable (TMSettings) -> Bool,
            _ set: @escaping @Sendable (inout TMSettings, Bool) -> Void
        ) -> CfgVariable {
            int(name, description, 0...1, { get($0) ? 1 : 0 }, { set(&$0, $1 != 0) })
        }
        return [
            int(
                "fr_timer",
                "timer which hits if no final reply for a request or ACK for a negative INVITE reply arrives (in milliseconds)",
                nil, { $0.frTimer }, { $0.frTimer = $1 }),
            int(
                "fr_inv_timer",
                "timer which hits if no final reply for an INVITE arrives after a provisional message was received (in milliseconds)",
                nil, { $0.frInvTimer }, { $0.frInvTimer = $1 }),
            int(
                "wt_timer",
                "time for which a transaction stays in memory to absorb delayed messages after it completed",
                nil, { $0.wtTimer }, { $0.wtTimer = $1 }),
            int(
                "retr_timer1", "initial retransmission period (in milliseconds)", nil, { $0.retrTimer1 },
                { $0.retrTimer1 = $1 }),
            int(
                "retr_timer2", "maximum retransmission period (in milliseconds)", nil, { $0.retrTimer2 },
                { $0.retrTimer2 = $1 }),
            int(
                "max_inv_lifetime", "maximum time an invite transaction can live from the moment of creation",
                nil, { $0.maxInvLifetime }, { $0.maxInvLifetime = $1 }),
            int(
                "max_noninv_lifetime", "maximum time a non-invite transaction can live from the moment of creation",
                nil, { $0.maxNonInvLifetime }, { $0.maxNonInvLifetime = $1 }),
            flag(
                "auto_inv_100", "automatically send 100 to an INVITE", { $0.autoInv100 }, { $0.autoInv100 = $1 }),
            flag(
                "restart_fr_on_each_reply", "restart final response timer on each provisional reply",
                { $0.restartFrOnEachReply }, { $0.restartFrOnEachReply = $1 }),
            int(
                "default_code",
                "default SIP response code sent by t_reply(), if the function cannot retrieve its parameters",
                400...699, { $0.defaultCode }, { $0.defaultCode = $1 }),
            flag(
                "disable_6xx_block", "if set to 1, 6xx is treated like a normal reply (breaks rfc)",
                { $0.disable6xxBlock }, { $0.disable6xxBlock = $1 }),
            flag(
                "e2e_cancel_reason",
                "if set to 1, Reason headers from received CANCELs are copied into the corresponding generated hop-by-hop CANCELs",
                { $0.e2eCancelReason }, { $0.e2eCancelReason = $1 }),
        ]
    }
}
