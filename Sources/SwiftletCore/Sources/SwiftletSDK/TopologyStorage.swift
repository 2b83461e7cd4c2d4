/// What topos keeps of a dialog or a transaction branch, and what it takes out of a message
/// (Kamailio's `tps_data_t`). `a_*` is the caller's side, `b_*` the callee's, `s_rr` this
/// proxy's own Record-Route entries, `x_*` the transaction's (our Via branch, the Via
/// stack below ours, the Record-Route set of the request), `y_rr` the set of an early 18x.
/// Empty strings stand for Kamailio's empty `str`.
public struct TopologyRecord: Sendable, Equatable {
    public var aUUID = ""
    public var bUUID = ""
    public var aCallID = ""
    public var aRR = ""
    public var bRR = ""
    public var sRR = ""
    public var aContact = ""
    public var bContact = ""
    public var asContact = ""
    public var bsContact = ""
    public var aTag = ""
    public var bTag = ""
    public var aURI = ""
    public var bURI = ""
    public var rURI = ""
    public var aSrcAddr = ""
    public var bSrcAddr = ""
    public var aSocket = ""
    public var bSocket = ""
    /// The first Via of the message (ours on a sent request), not stored.
    public var xVia1 = ""
    /// The Vias after the first, comma-separated, not stored (`x_via` takes it).
    public var xVia2 = ""
    /// The branch of the first Via: the key of a branch record.
    public var xVBranch1 = ""
    public var xVia = ""
    public var xTag = ""
    public var xRR = ""
    public var yRR = ""
    public var xURI = ""
    /// The CSeq method and number of the request that made the record.
    public var sMethod = ""
    public var sCSeq = ""
    public var xContext = ""
    /// `TopologyRecord.initFlag` (1) and `dialogOnFlag` (2, a 2xx confirmed it).
    public var iflags = 0
    /// 0 downstream (from the caller), 1 upstream.
    public var direction = 0
    /// The Expires of a SUBSCRIBE (-1: none), not stored.
    public var expires = -1
    /// When the record was written or last refreshed (Unix seconds).
    public var rectime = 0

    public init() {}

    /// `TPS_IFLAG_INIT`
    public static let initFlag = 1
    /// `TPS_IFLAG_DLGON`
    public static let dialogOnFlag = 2
    /// `TPS_DIR_DOWNSTREAM`
    public static let downstream = 0
    /// `TPS_DIR_UPSTREAM`
    public static let upstream = 1
}

/// Which fields an update writes (Kamailio's `TPS_DBU_*`).
public struct TopologyUpdate: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `a_contact`, `b_contact`.
    public static let contact = TopologyUpdate(rawValue: 1 << 0)
    /// Reply attributes: `y_rr`/`b_tag` of an 18x (branch), `b_rr`/`b_tag`/`iflags` of a 2xx (dialog).
    public static let replyAttributes = TopologyUpdate(rawValue: 1 << 1)
    /// `a_rr` and `s_rr` (`rr_update`).
    public static let aRR = TopologyUpdate(rawValue: 1 << 2)
    /// `b_rr` (`rr_update`).
    public static let bRR = TopologyUpdate(rawValue: 1 << 3)
    /// `rectime` (a refreshing SUBSCRIBE).
    public static let time = TopologyUpdate(rawValue: 1 << 4)
}

/// What a load found.
public enum TopologyLoad: Sendable, Equatable {
    case found(TopologyRecord)
    case notFound
    /// The storage failed (or the key was missing).
    case failure
}

/// A storage of topos' dialog and branch records (Kamailio's `tps_storage_api_t`), offered
/// by a storage module (`topos_redis`) with `exports.provide(self, as: TopologyStorage.self)`
/// and used by topos when its `storage` parameter names it. Methods are called from every
/// worker, under topos' per-Call-ID lock; they return 0 on success, -1 on failure.
public protocol TopologyStorage: AnyObject {
    /// The `storage` value of topos that selects this storage (`redis`).
    var storageName: String { get }
    /// Stores a new dialog record (`td` after an initial request was sent).
    func insertDialog(_ td: TopologyRecord) -> Int
    /// Removes expired dialog records (topos' `clean_interval` timer).
    func cleanDialogs() -> Int
    /// Stores a new branch record, keyed by `td.xVBranch1`.
    func insertBranch(_ td: TopologyRecord) -> Int
    /// Removes expired branch records.
    func cleanBranches() -> Int
    /// Mode 0: the branch of `md.xVBranch1`; mode 1: the INVITE (or SUBSCRIBE) branch of
    /// the dialog of `md` (Call-ID, To-tag, uuid) for a request that comes before the 2xx.
    func loadBranch(_ msg: SIPMessage, _ md: TopologyRecord, mode: Int) -> TopologyLoad
    /// The dialog of `md.aUUID` (or `md.bUUID`): `atpsh-...` and `btpsh-...` both select it.
    func loadDialog(_ msg: SIPMessage, _ md: TopologyRecord) -> TopologyLoad
    /// Updates the branch `sd` with fields of `md` selected by `mode`.
    func updateBranch(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate) -> Int
    /// Updates the dialog `sd` with fields of `md` selected by `mode`.
    func updateDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate) -> Int
    /// A BYE (or a SUBSCRIBE with Expires 0) ends the dialog `sd`: it expires soon.
    func endDialog(_ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord) -> Int
}

/// The topos module's API for storage modules (Kamailio's `bind_topos`), looked up with
/// `core.apis.lookup(TopologyStrippingAPI.self)`.
public protocol TopologyStrippingAPI: AnyObject {
    /// `dialog_expire` in seconds.
    var dialogExpire: Int { get }
    /// `branch_expire` in seconds.
    var branchExpire: Int { get }
}

extension TopologyRecord {
    /// The text fields of a dialog record with Kamailio's names (`topos_d` columns, the
    /// hash fields of topos_redis' `d:z:` keys), besides `rectime` and `iflags`.
    public static var dialogFields: [(name: String, field: WritableKeyPath<TopologyRecord, String>)] {
        [
            ("a_callid", \.aCallID), ("a_uuid", \.aUUID), ("b_uuid", \.bUUID), ("a_contact", \.aContact),
            ("b_contact", \.bContact), ("as_contact", \.asContact), ("bs_contact", \.bsContact), ("a_tag", \.aTag),
            ("b_tag", \.bTag), ("a_rr", \.aRR), ("b_rr", \.bRR), ("s_rr", \.sRR), ("a_uri", \.aURI),
            ("b_uri", \.bURI), ("r_uri", \.rURI), ("a_srcaddr", \.aSrcAddr), ("b_srcaddr", \.bSrcAddr),
            ("s_method", \.sMethod), ("s_cseq", \.sCSeq), ("x_context", \.xContext),
        ]
    }

    /// The text fields of a branch record (`topos_t` columns, topos_redis' `b:x:` keys),
    /// besides `rectime` and `direction`; `x_vbranch` is `xVBranch1`.
    public static var branchFields: [(name: String, field: WritableKeyPath<TopologyRecord, String>)] {
        [
            ("a_callid", \.aCallID), ("a_uuid", \.aUUID), ("b_uuid", \.bUUID), ("x_via", \.xVia),
            ("x_vbranch", \.xVBranch1), ("x_rr", \.xRR), ("y_rr", \.yRR), ("s_rr", \.sRR), ("x_uri", \.xURI),
            ("x_tag", \.xTag), ("s_method", \.sMethod), ("s_cseq", \.sCSeq), ("a_contact", \.aContact),
            ("b_contact", \.bContact), ("as_contact", \.asContact), ("bs_contact", \.bsContact), ("a_tag", \.aTag),
            ("b_tag", \.bTag), ("x_context", \.xContext),
        ]
    }

    /// Only what a dialog record keeps of `self`.
    public var dialogRecord: TopologyRecord {
        var r = TopologyRecord()
        for (_, f) in Self.dialogFields { r[keyPath: f] = self[keyPath: f] }
        r.iflags = iflags
        r.rectime = rectime
        return r
    }

    /// Only what a branch record keeps of `self`.
    public var branchRecord: TopologyRecord {
        var r = TopologyRecord()
        for (_, f) in Self.branchFields { r[keyPath: f] = self[keyPath: f] }
        r.direction = direction
        r.rectime = rectime
        return r
    }
}

extension TopologyRecord {
    /// The fields (Kamailio's names, `iflags` and `rectime` as decimal text) that updating
    /// the dialog `sd` with `md` for `msg` writes (Kamailio's `tps_db_update_dialog`, the
    /// same in topos_redis): the contacts of `md` that are set (`.contact`); on a 2xx to a
    /// dialog without a To-tag yet, `b_rr` (unless confirmed), `b_tag` and the confirmed
    /// flag (`.replyAttributes`); with `rr_update`, the side's Record-Route set (`.aRR`,
    /// `.bRR`); `rectime` for a refreshing SUBSCRIBE from the callee (`.time`).
    public static func dialogChanges(
        _ msg: SIPMessage, _ md: TopologyRecord, _ sd: TopologyRecord, mode: TopologyUpdate, now: Int
    ) -> [(String, String)] {
        var out: [(String, String)] = []
        if mode.contains(.contact) {
            if !md.aContact.isEmpty { out.append(("a_contact", md.aContact)) }
            if !md.bContact.isEmpty { out.append(("b_contact", md.bContact)) }
        }
        let confirmed = sd.iflags & dialogOnFlag != 0
        if mode.contains(.replyAttributes), let code = msg.statusCode, sd.bTag.isEmpty, code >= 200, code < 300 {
            if !confirmed { out.append(("b_rr", md.bRR)) }
            if !md.bTag.isEmpty { out.append(("b_tag", md.bTag)) }
            out.append(("iflags", String(sd.iflags | dialogOnFlag)))
        }
        if !sd.bTag.isEmpty, !mode.intersection([.aRR, .bRR]).isEmpty, !confirmed {
            let bSide =
                (md.direction == downstream && !msg.isRequest) || (md.direction == upstream && msg.isRequest)
            if bSide {
                if mode.contains(.bRR) { out.append(("b_rr", md.bRR)) }
            } else if mode.contains(.aRR) {
                out.append(("a_rr", md.aRR))
                out.append(("s_rr", md.sRR))
            }
        }
        if mode.contains(.time), !sd.bTag.isEmpty, md.direction == upstream, msg.isRequest,
            msg.method == .subscribe
        {
            out.append(("rectime", String(now)))
        }
        return out
    }
}
