import SwiftletSDK

/// `domain.reload` and `domain.dump` (Kamailio's `domain_mod.c`).
extension DomainModule {
    var rpcs: [RPCCommand] {
        [
            RPCCommand("domain.reload", "Reload domain tables from database") { (_: RPCRequest) throws(RPCError) in
                guard self.reload() else { throw RPCError(400, "Reload of domain tables failed") }
                return .null
            },
            RPCCommand("domain.dump", "Return the contents of domain and domain_attrs tables") {
                (_: RPCRequest) throws(RPCError) in
                self.dump()
            },
        ]
    }

    /// `{"domains": [{domain, did}], "attributes": [{did, attrs: [names]}]}` in the hash
    /// table's order.
    func dump() -> RPCValue {
        let set = current.withLock { $0 }
        let domains: [RPCValue] = set.entries.map {
            .object([("domain", .string($0.domain)), ("did", .string($0.did))])
        }
        let attributes: [RPCValue] = set.attributeLists.map { list in
            .object([("did", .string(list.did)), ("attrs", .array(list.attributes.map { .string($0.name) }))])
        }
        return .object([("domains", .array(domains)), ("attributes", .array(attributes))])
    }
}
