import SwiftletSDK

/// The branch pseudo-variables of Kamailio's pv module (`pv_branch.c`, `pv_core.c`), read-only
/// here: `$branch(attr)` with an index (`$(branch(uri)[1])`, negative from the end), `$br`
/// (the first added branch's URI) and `$bR` (every added branch, `uri` or `<uri>;q=0.5`,
/// joined by `, `).
enum BranchVariables {
    static var pseudoVariableClasses: [PseudoVariableClass] {
        [
            PseudoVariableClass("branch", make: makeBranch),
            .readOnly("br") { ctx in firstBranch(ctx) },
            .readOnly("bR") { ctx in allBranches(ctx) },
        ]
    }

    enum Attribute: String {
        case uri, dstURI = "dst_uri", q, sendSocket = "send_socket", count, flags
    }

    static func makeBranch(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let inner = pv.inner else { throw FixupError("$branch needs an attribute: $branch(uri)") }
        let name = inner.trimmingCharacters()
        guard let attribute = Attribute(rawValue: name == "Q" ? "q" : name) else {
            throw FixupError("unknown $branch attribute '\(name)' (uri, dst_uri, q, send_socket, count, flags)")
        }
        let index = try PVIndex(pv.index, registry: pv.registry)
        guard !index.isAll else { throw FixupError("$branch takes no [*] index") }
        return PseudoVariable(text: pv.text) { ctx in
            guard case .position(let i)? = index.resolve(ctx), let b = PVIndex.element(ctx.branches, i) else {
                return .null
            }
            switch attribute {
            case .uri: return .string(b.uri)
            case .dstURI: return b.destinationURI.map(PVValue.string) ?? .null
            case .q: return b.q.map(PVValue.int) ?? .null
            case .sendSocket: return b.sendSocket.map { .string($0.socketString) } ?? .null
            case .count: return .int(ctx.branches.count)
            case .flags: return .int(Int(UInt32(truncatingIfNeeded: b.flags)))
            }
        }
    }

    static func firstBranch(_ ctx: MessageContext) -> PVValue {
        guard ctx.message.isRequest, let b = ctx.branches.first else { return .null }
        return .string(b.uri)
    }

    static func allBranches(_ ctx: MessageContext) -> PVValue {
        guard ctx.message.isRequest, !ctx.branches.isEmpty else { return .null }
        return .string(
            ctx.branches.map { b in b.q.map { "<\(b.uri)>;q=\(qText($0))" } ?? b.uri }.joined(separator: ", "))
    }

    /// Kamailio's `q2str`: `1`, `0`, `0.5`, `0.25`, `0.125`.
    static func qText(_ q: Int) -> String {
        if q >= 1000 { return "1" }
        if q <= 0 { return "0" }
        var s = "0."
        var v = q
        s.append(Character(String(v / 100)))
        v %= 100
        if v == 0 { return s }
        s.append(Character(String(v / 10)))
        v %= 10
        if v == 0 { return s }
        s.append(Character(String(v)))
        return s
    }
}
