/// One problem found by `SIPMessage.validate()`.
public struct ValidationIssue: Sendable, Equatable, CustomStringConvertible {
    public let check: String
    public let detail: String
    public var description: String { "\(check): \(detail)" }
}

extension SIPMessage {
    /// Checks a parsed message the way Kamailio's `sanity_check()` and RFC 3261's parsing
    /// rules do: required headers, single-instance headers, every Via, CSeq (number and
    /// method), From/To, the Request-URI, Contact values, numeric headers, Content-Type.
    /// An empty result means the message is well formed.
    public func validate() -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        func issue(_ check: String, _ detail: String) { issues.append(ValidationIssue(check: check, detail: detail)) }
        let b = buffer

        for name in [HeaderName.via, .from, .to, .callID, .cseq] where firstHeader(name) == nil {
            issue("required_headers", "missing \(name.canonicalName)")
        }
        for name in [HeaderName.from, .to, .callID, .cseq, .maxForwards, .contentLength, .contentType] {
            if headers.lazy.filter({ $0.name == name }).count > 1 {
                issue("single_header", "\(name.canonicalName) appears more than once")
            }
        }
        if let f = firstHeader(.callID),
            f.valueRange.isEmpty || b[f.valueRange].contains(where: { $0 == ASCII.space || $0 == ASCII.tab })
        {
            issue("callid", "malformed Call-ID")
        }
        do {
            let vias = try self.vias()
            if vias.isEmpty { issue("via", "no Via value") }
        } catch { issue("via", error.description) }
        do {
            let cseq = try self.cseq()
            if cseq.number > UInt32(Int32.max) { issue("cseq_value", "CSeq number \(cseq.number) is 2^31 or more") }
            if let m = method, m != cseq.method {
                issue("cseq_method", "CSeq method \(b.string(cseq.methodRange)) does not match \(m.name)")
            }
        } catch { if firstHeader(.cseq) != nil { issue("cseq_value", error.description) } }
        for name in [HeaderName.from, .to] {
            guard let f = firstHeader(name) else { continue }
            do {
                let v = try NameAddr.parse(b, f.valueRange)
                _ = try URIComponents.parse(b, v.uri)
                if HeaderScanner.splitValues(b, f.valueRange).count > 1 {
                    issue("single_header", "\(name.canonicalName) has several values")
                }
            } catch { issue(name == .from ? "from" : "to", error.description) }
        }
        if isRequest {
            do {
                _ = try requestURIComponents()
            } catch { issue("ruri", error.description) }
        }
        do {
            let contacts = try self.contacts()
            if contacts.contains(where: \.isWildcard) {
                if contacts.count > 1 { issue("contact", "'*' together with other contacts") }
                if method != .register { issue("contact", "'*' outside REGISTER") }
                if (try? expires()) != 0 { issue("contact", "'*' requires Expires: 0") }
            }
            for c in contacts where !c.isWildcard {
                _ = try URIComponents.parse(b, c.uri)
                if let e = c.parameter(b, "expires")?.value, b.decimalValue(e) == nil {
                    issue("expires_value", "bad Contact expires")
                }
            }
        } catch { issue("contact", error.description) }
        do { _ = try maxForwards() } catch { issue("max_forwards", error.description) }
        do { _ = try expires() } catch { issue("expires_value", error.description) }
        do {
            let ct = try contentType()
            if ct == nil, !bodyRange.isEmpty { issue("content_type", "a body without Content-Type") }
        } catch { issue("content_type", error.description) }
        return issues
    }
}
