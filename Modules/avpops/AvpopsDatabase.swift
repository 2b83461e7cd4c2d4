import SwiftletSDK
import SwiftletSIP

/// The table and columns of avpops' DB functions (the module's parameters).
struct AvpopsColumns: Sendable {
    var uuid = "uuid"
    var username = "username"
    var domain = "domain"
    var attribute = "attribute"
    var value = "value"
    var type = "type"
}

/// A `db_scheme` (`name:table=...;uuid_col=...;value_col=...;value_type=integer`): where
/// `avp_db_load(source, "$avp(x)/$name")` reads one value column.
struct AvpopsScheme: Sendable {
    var name = ""
    var uuidColumn: String?
    var usernameColumn: String?
    var domainColumn: String?
    var valueColumn: String?
    var table: String?
    var integerValues = false

    init(parsing text: String) throws(FixupError) {
        guard let colon = text.firstIndex(of: ":") else { throw FixupError("failed to parse scheme \(text)") }
        name = String(text[..<colon]).trimmingCharacters()
        guard !name.isEmpty, !name.contains(" ") else { throw FixupError("failed to parse scheme \(text)") }
        let elements = text[text.index(after: colon)...].split(separator: ";").map { String($0).trimmingCharacters() }
        guard !elements.isEmpty else { throw FixupError("failed to parse scheme \(text)") }
        for element in elements where !element.isEmpty {
            guard let eq = element.firstIndex(of: "=") else { throw FixupError("failed to parse scheme \(text)") }
            let key = String(element[..<eq]).trimmingCharacters().lowercased()
            let value = String(element[element.index(after: eq)...]).trimmingCharacters()
            guard !value.isEmpty else { throw FixupError("failed to parse scheme \(text)") }
            func once(_ current: String?) throws(FixupError) -> String {
                guard current == nil else { throw FixupError("duplicated \(key) in scheme \(text)") }
                return value
            }
            switch key {
            case "uuid_col": uuidColumn = try once(uuidColumn)
            case "username_col": usernameColumn = try once(usernameColumn)
            case "domain_col": domainColumn = try once(domainColumn)
            case "value_col": valueColumn = try once(valueColumn)
            case "table": table = try once(table)
            case "value_type":
                switch value.lowercased() {
                case "integer": integerValues = true
                case "string": integerValues = false
                default: throw FixupError("unknown value type <\(value)> in scheme \(text)")
                }
            default: throw FixupError("unknown element <\(key)> in scheme \(text)")
            }
        }
    }
}

/// The `source` parameter of the DB functions: a pseudo-variable or a constant, with what
/// identifies the user: `uuid`, or from a SIP URI the `username`, the `domain` or both (`uri`).
struct AvpopsSource {
    enum Part { case uuid, username, domain, uri }
    let variable: PseudoVariable?
    let constant: String
    let part: Part

    init(_ text: String) throws(FixupError) {
        let (value, flag) = splitFlags(text)
        var part: Part?
        switch flag?.lowercased() {
        case nil: part = nil
        case "domain"?: part = .domain
        case "username"?: part = .username
        case "uri"?: part = .uri
        case "uuid"?: part = .uuid
        case let f?: throw FixupError("unknown flag <\(f)>")
        }
        if value.hasPrefix("$") {
            let pv = try PseudoVariableRegistry.shared.compile(value)
            variable = pv
            constant = ""
            let uriPVs: Set<String> = ["$ru", "$ruri", "$fu", "$from", "$tu", "$to", "$ou", "$ouri"]
            self.part = part ?? (uriPVs.contains(value.trimmingCharacters()) ? .uri : .uuid)
        } else {
            variable = nil
            constant = value
            self.part = part ?? .uuid
        }
    }

    /// The conditions selecting the user's rows; nil when the value is missing or not a URI
    /// with user and host.
    func conditions(_ ctx: MessageContext, _ columns: AvpopsColumns, useDomain: Bool, scheme: AvpopsScheme? = nil)
        -> [DatabaseCondition]?
    {
        let text: String
        if let variable {
            switch variable.get(ctx) {
            case .null: return nil
            case .int(let i): text = String(i)
            case .string(let s): text = s
            }
            guard !text.isEmpty else { return nil }
        } else {
            text = constant
        }
        if part == .uuid { return [DatabaseCondition(scheme?.uuidColumn ?? columns.uuid, .equal, .string(text))] }
        let b = Array(text.utf8)
        guard let uri = try? URIComponents.parse(b, 0..<b.count), let user = uri.user, !user.isEmpty,
            !uri.host.isEmpty
        else { return nil }
        var c: [DatabaseCondition] = []
        if part == .uri || part == .username {
            c.append(
                DatabaseCondition(
                    scheme?.usernameColumn ?? columns.username, .equal,
                    .string(String(decoding: b[user], as: UTF8.self))))
        }
        if (part == .uri && useDomain) || part == .domain {
            c.append(
                DatabaseCondition(
                    scheme?.domainColumn ?? columns.domain, .equal,
                    .string(String(decoding: b[uri.host], as: UTF8.self))))
        }
        return c
    }
}

/// The `name` parameter of the DB functions: `$avp(name)` or matching flags, then
/// `/table` or `/$scheme`.
struct AvpopsDBName {
    let avp: AVPReference?
    let match: AVPMatchingFlags?
    let table: String?
    let scheme: AvpopsScheme?

    init(_ text: String, schemes: [AvpopsScheme], allowScheme: Bool) throws(FixupError) {
        let (spec, rest) = splitFlags(text)
        if spec.hasPrefix("$") {
            guard let a = try AVPReference(spec) else { throw FixupError("expected $avp(name), not \(spec)") }
            avp = a
            match = nil
        } else {
            avp = nil
            match = try AVPMatchingFlags(spec)
        }
        guard let rest else {
            table = nil
            scheme = nil
            return
        }
        guard !rest.isEmpty else { throw FixupError("empty table name in \(text)") }
        if rest.hasPrefix("$") {
            guard allowScheme else { throw FixupError("function doesn't support DB schemes") }
            guard avp != nil else {
                throw FixupError("DB scheme without complete specification of AVP name")
            }
            let name = String(rest.dropFirst())
            guard let s = schemes.first(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw FixupError("scheme <\(name)> not found")
            }
            scheme = s
            table = nil
        } else {
            table = rest
            scheme = nil
        }
    }

    /// The attribute name for this message, nil when computed and missing (or 64 bytes or more).
    func attribute(_ ctx: MessageContext) -> String?? {
        guard let avp else { return .some(nil) }
        guard let key = avp.key(ctx) else { return nil }
        let name = AVPList.plainName(key)
        return name.utf8.count < 64 ? .some(name) : nil
    }
}
