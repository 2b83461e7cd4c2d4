import SwiftletSDK

/// A row that Kamailio's `reload_tables` refuses (the whole load fails).
struct DomainLoadError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension DomainModule {
    /// `reload_tables`: `domain_attrs` (did, name, type, value) first, then `domain`
    /// (domain, did; a NULL did is the domain itself).
    func loadTables() throws -> DomainSet {
        var set = DomainSet()
        let attrs = try db.query(domainAttrsTable, columns: [didColumn, nameColumn, typeColumn, valueColumn])
        for (i, row) in attrs.rows.enumerated() {
            guard let did = row[0].textValue, !did.isEmpty else {
                throw DomainLoadError("did at row <\(i)> is null or empty")
            }
            guard let name = row[1].textValue, !name.isEmpty else {
                throw DomainLoadError("name at row <\(i)> is null or empty")
            }
            guard let type = row[2].intValue else { throw DomainLoadError("type at row <\(i)> is null or not int") }
            guard let text = row[3].textValue else {
                throw DomainLoadError("value at row <\(i)> is null or not string")
            }
            let value: DomainSet.Value
            switch type {
            case 0:
                guard let n = Int(text) else { throw DomainLoadError("value at row <\(i)> is invalid int") }
                value = .int(n)
            case 2: value = .string(text)
            default: throw DomainLoadError("unknown type <\(type)> at row <\(i)>")
            }
            set.addAttribute(did: did, .init(name: name, value: value))
        }
        let domains = try db.query(domainTable, columns: [domainColumn, didColumn])
        for (i, row) in domains.rows.enumerated() {
            guard let domain = row[0].textValue, !domain.isEmpty else {
                throw DomainLoadError("domain at row <\(i)> is null or empty")
            }
            let did: String
            if row[1].isNull {
                did = domain
            } else {
                guard let d = row[1].textValue, !d.isEmpty else {
                    throw DomainLoadError("did at row <\(i)> is empty string")
                }
                did = d
            }
            set.addDomain(domain, did: did)
        }
        return set
    }
}
