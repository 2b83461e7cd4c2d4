import SwiftletSDK

/// The additional branches (`append_branch`): `$br` (the first one's URI), `$bR` (all, with
/// their q-values), `$ds` (the destination set) and `$branch(uri|dst_uri|path|q|flags|count|send_socket|ruid|location_ua|instance)[i]`
/// (Kamailio's pv_branch.c); `$ruid` and `$location_ua` of the request; and
/// `$bs`, the body size. Read-only in Swiftlet.
extension CorePseudoVariables {
    static var branchClasses: [PseudoVariableClass] {
        [
            .readOnly("br") { ctx in
                guard ctx.message.isRequest, let b = ctx.branches.first else { return .null }
                return .string(b.uri)
            },
            .readOnly("bR", allBranches),
            .readOnly("ds", destinationSet),
            .readOnly("bs") { .int($0.message.bodyRange.count) },
            PseudoVariableClass("branch", make: branch),
            // The request's location record id and User-Agent, set by registrar's lookup()
            // (Kamailio's `msg->ruid`, `msg->location_ua`).
            .readOnly("ruid") { $0.binding.ruid.isEmpty ? .null : .string($0.binding.ruid) },
            .readOnly("location_ua") { $0.binding.userAgent.isEmpty ? .null : .string($0.binding.userAgent) },
        ]
    }

    /// Kamailio's `q2str`: `1`, `0`, else `0.` and up to three digits without trailing zeros.
    static func qText(_ q: Int) -> String {
        if q >= 1000 { return "1" }
        if q <= 0 { return "0" }
        var digits = String(q)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "0." + digits
    }

    /// `$bR`: `uri` or `<uri>;q=0.5` for each branch, joined with `, `.
    static func allBranches(_ ctx: MessageContext) -> PVValue {
        guard ctx.message.isRequest, !ctx.branches.isEmpty else { return .null }
        return .string(
            ctx.branches.map { b in b.q.map { "<\(b.uri)>;q=\(qText($0))" } ?? b.uri }.joined(separator: ", "))
    }

    /// `$ds`: Kamailio's `print_dset` without its line break: `Contact: ` and the rewritten
    /// Request-URI (only when the script changed it) and each branch as `<uri>;q=0.5`, joined
    /// with `, `; null when there is none.
    static func destinationSet(_ ctx: MessageContext) -> PVValue {
        var contacts: [String] = []
        if let uri = ctx.newRequestURI { contacts.append("<\(uri)>") }
        for b in ctx.branches { contacts.append("<\(b.uri)>" + (b.q.map { ";q=\(qText($0))" } ?? "")) }
        guard !contacts.isEmpty else {
            Log.warning("core", "print_dset(): no r-uri or branches")
            return .null
        }
        return .string("Contact: " + contacts.joined(separator: ", "))
    }

    enum BranchAttribute: String { case uri, dst_uri, path, q, flags, count, send_socket, ruid, location_ua, instance }

    /// `$branch(attr)[i]`: an attribute of branch `i` (default 0, negative from the end).
    /// As in Kamailio, every attribute (`count` too) is null while there is no branch.
    static func branch(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        let name = pv.inner?.trimmingCharacters() ?? ""
        guard let attribute = BranchAttribute(rawValue: name) else {
            throw FixupError(
                "unknown PV branch name \(name) (Swiftlet has uri, dst_uri, path, q, flags, count, send_socket, ruid, location_ua, instance)"
            )
        }
        let index = try PVIndex(pv.index, registry: pv.registry)
        return PseudoVariable(text: pv.text) { ctx in
            var i = 0
            if case .none = index {
            } else {
                guard case .position(let p)? = index.resolve(ctx) else { return .null }
                i = p
            }
            if i < 0 { i += ctx.branches.count }
            guard i >= 0, i < ctx.branches.count else { return .null }
            let b = ctx.branches[i]
            switch attribute {
            case .uri: return .string(b.uri)
            case .dst_uri: return b.destinationURI.flatMap { $0.isEmpty ? nil : PVValue.string($0) } ?? .null
            case .path: return b.binding.path.isEmpty ? .null : .string(b.binding.path)
            case .q: return b.q.map(PVValue.int) ?? .null
            case .flags: return .int(Int(b.flags & 0xffff_ffff))
            case .count: return .int(ctx.branches.count)
            case .send_socket: return b.sendSocket.map { .string($0.socketString) } ?? .null
            case .ruid: return b.binding.ruid.isEmpty ? .null : .string(b.binding.ruid)
            case .location_ua: return b.binding.userAgent.isEmpty ? .null : .string(b.binding.userAgent)
            case .instance: return b.binding.instance.isEmpty ? .null : .string(b.binding.instance)
            }
        }
    }
}
