import SwiftletSDK

/// The transactions, found by the received request's key and by the id our branches carry
/// (Kamailio's `tm` hash table). Sharded with a lock per shard; bounded by
/// `max_transactions` (0: no limit beyond shared memory).
final class TransactionTable: @unchecked Sendable {
    private let byKey: ShardedTable<String, Transaction>
    private let byID = ShardedTable<String, Transaction>(shards: 256)

    init(maxTransactions: Int) {
        byKey = ShardedTable(shards: 256, maxEntries: maxTransactions > 0 ? maxTransactions : nil)
    }

    var count: Int { byKey.count }

    /// Adds `tx`; a full table is returned as the error.
    func insert(_ tx: Transaction) -> Result<Void, SharedStateError> {
        switch byKey.insert(tx, for: tx.key) {
        case .failure(let e): return .failure(e)
        case .success:
            byID.insert(tx, for: tx.id)
            return .success(())
        }
    }

    func transaction(key: String) -> Transaction? { byKey.value(for: key) }
    func transaction(id: String) -> Transaction? { byID.value(for: id) }

    func remove(_ tx: Transaction) {
        byKey.removeValue(for: tx.key) { $0 === tx }
        byID.removeValue(for: tx.id) { $0 === tx }
    }

    /// Every transaction (for `tm.list`).
    var all: [Transaction] { byKey.snapshot().map(\.value) }
}

/// How transactions are matched (Kamailio's `t_lookup.c`).
enum TransactionKey {
    /// The method class of a request: an ACK belongs to its INVITE's transaction, a CANCEL
    /// has its own (found with the INVITE's key).
    static func methodClass(_ m: SIPMethod?, text: String) -> String {
        switch m {
        case .invite, .ack: "INVITE"
        default: text
        }
    }

    /// The key of the request in `ctx` for method class `cls`: the RFC 3261 branch with the
    /// sent-by of the top Via when the branch has the magic cookie, else the RFC 2543 fields
    /// (Call-ID, CSeq number, From tag, Request-URI, top Via).
    static func key(_ ctx: MessageContext, methodClass cls: String) -> String? {
        let msg = ctx.message
        let b = msg.buffer
        guard let via = ctx.via1 else { return nil }
        let sentBy = b.tmText(via.host) + ":" + String(via.port ?? 5060)
        if via.hasRFC3261Branch(b), let branch = via.branch?.value {
            return "3261|" + b.tmText(branch) + "|" + sentBy + "|" + cls
        }
        let cseq = (try? msg.cseq()).map { String($0.number) } ?? ""
        return "2543|" + (msg.callID ?? "") + "|" + cseq + "|" + (msg.fromTag ?? "") + "|"
            + (msg.requestURI ?? "") + "|" + b.tmText(via.range) + "|" + cls
    }

    /// Our branch parameter for branch `n` of a transaction: Kamailio's layout
    /// `z9hG4bK<label>.<id>.<n>`.
    static func branch(label: String, id: String, index: Int) -> String {
        BranchGenerator.magicCookie + label + "." + id + "." + String(index)
    }

    /// The id and branch index in a branch we generated, or nil.
    static func parse(branch text: String) -> (id: String, index: Int)? {
        guard text.hasPrefix(BranchGenerator.magicCookie) else { return nil }
        let parts = text.dropFirst(BranchGenerator.magicCookie.count).split(
            separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let n = Int(parts[2]), n >= 0 else { return nil }
        return (String(parts[1]), n)
    }
}
