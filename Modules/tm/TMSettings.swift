/// tm's module parameters, with Kamailio 5.6's names and defaults (times in ms).
struct TMSettings {
    /// `fr_timer`: time for a final reply when no provisional came (non-INVITE, or INVITE
    /// before its first provisional).
    var frTimer = 30_000
    /// `fr_inv_timer`: time for a final reply to an INVITE after a provisional.
    var frInvTimer = 120_000
    /// `wt_timer`: how long a finished transaction stays to absorb retransmissions.
    var wtTimer = 5_000
    /// `retr_timer1` (T1) and `retr_timer2` (T2): UDP retransmission intervals.
    var retrTimer1 = 500
    var retrTimer2 = 4_000
    /// `max_inv_lifetime`, `max_noninv_lifetime`.
    var maxInvLifetime = 180_000
    var maxNonInvLifetime = 32_000
    /// `restart_fr_on_each_reply`: every provisional restarts `fr_inv_timer`.
    var restartFrOnEachReply = true
    /// `auto_inv_100` and `auto_inv_100_reason`.
    var autoInv100 = true
    var autoInv100Reason = "trying -- your call is important to us"
    /// `default_code`/`default_reason`: the reply when t_reply's code cannot be evaluated.
    var defaultCode = 500
    var defaultReason = "Server Internal Error"
    /// `disable_6xx_block`: a 6xx does not stop the other branches.
    var disable6xxBlock = false
    /// `remap_503_500`: a 503 chosen as the final reply goes upstream as 500.
    var remap503to500 = true
    /// `failure_reply_mode` (3: only replies of the branches of the last failure route count).
    var failureReplyMode = 3
    /// `e2e_cancel_reason`: copy the CANCEL's Reason header to the CANCELs sent on.
    var e2eCancelReason = true
    /// `contacts_avp`: the XAVP `t_load_contacts()`/`t_next_contacts()` use (nil: off).
    var contactsAVP: String?
    /// `contact_flows_avp`: the XAVP `t_next_contacts()` keeps further flows of a
    /// `+sip.instance` in, for `t_next_contact_flow()` (nil: off).
    var contactFlowsAVP: String?
    /// `reparse_invite`, `ac_extra_hdrs`.
    var hopByHop = HopByHopSettings()
    /// `blst_503`, `blst_503_def_timeout`, `blst_503_min_timeout`, `blst_503_max_timeout`,
    /// `blst_methods_add`, `blst_methods_lookup`.
    var blocklist = BlocklistSettings()
    /// `faked_reply_prio`: added to the priority of a timeout's local reply when the final
    /// reply is chosen (negative: preferred).
    var fakedReplyPriority = 0
    /// `max_transactions`: 0 for no limit beyond shared memory (Swiftlet's addition).
    var maxTransactions = 0
}
