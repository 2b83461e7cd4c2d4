import SwiftletSDK

/// `append_branch([uri[, q]])` (Kamailio's `corex_append_branch` over the core's
/// `append_branch`).
enum CorexBranches {
    /// Kamailio's `MAX_BRANCHES` (12) less the Request-URI's own branch.
    static let maxAddedBranches = 11

    /// Adds a branch: with a URI, that URI; without one (or an empty one), the Request-URI
    /// in effect. The branch takes the current `$du`, the flags of branch 0 and the forced
    /// send socket; without a URI those are then reset (the Request-URI moved to a branch).
    static func appendBranch(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let uri = args.count > 0 ? try args[0].stringFormat() : nil
        let qText = args.count > 1 ? try args[1].stringFormat() : nil
        return { ctx in
            var q: Int? = nil
            if let qText {
                let text = qText.render(ctx)
                if !text.isEmpty {
                    guard let v = parseQ(text) else {
                        Log.error("corex", "cannot parse the Q parameter")
                        return -1
                    }
                    q = v
                }
            }
            let given = uri?.render(ctx) ?? ""
            guard ctx.branches.count < maxAddedBranches else {
                Log.error("core", "max nr of branches exceeded")
                return -1
            }
            let branchURI: String
            if given.isEmpty {
                guard let r = ctx.requestURI else {
                    Log.error("core", "no new uri and no msg to take r-uri")
                    return -1
                }
                branchURI = r
            } else {
                branchURI = given
            }
            let dst = ctx.destinationURI.flatMap { $0.isEmpty ? nil : $0 }
            ctx.branches.append(
                Branch(
                    uri: branchURI, destinationURI: dst, q: q, flags: ctx.branchFlags,
                    sendSocket: ctx.forcedSendSocket, binding: ContactBinding(path: ctx.binding.path)))
            if given.isEmpty {
                ctx.binding.path = ""
                ctx.forcedSendSocket = nil
                ctx.branchFlags = 0
                ctx.destinationURI = nil
            }
            return 1
        }
    }

    /// Kamailio's `str2q`: `0`, `1`, `0.5`, `.25`, `1.000` (up to three decimals are used,
    /// spaces and tabs before) to thousandths; nil for anything else or above 1.
    static func parseQ(_ text: String) -> Int? {
        enum State { case start, zero, one, zeroPoint, onePoint, onePointZero, decimals }
        var state = State.start
        var q = 0
        var order = 100
        var digits = 1
        for c in text.utf8 {
            let d = c >= 0x30 && c <= 0x39 ? Int(c - 0x30) : nil
            switch state {
            case .start:
                if c == 0x20 || c == 0x09 { continue }
                if d == 0 {
                    state = .zero
                } else if d == 1 {
                    q = 1000
                    state = .one
                } else if c == 0x2E {
                    state = .zeroPoint
                } else {
                    return nil
                }
            case .zero:
                if d == 0 { continue }
                if c == 0x2E {
                    state = .zeroPoint
                } else if d == 1 {
                    q = 1000
                    state = .one
                } else {
                    return nil
                }
            case .one:
                guard c == 0x2E else { return nil }
                state = .onePoint
            case .zeroPoint:
                guard let d else { return nil }
                q = d * order
                order /= 10
                state = .decimals
            case .onePoint, .onePointZero:
                guard d == 0 else { return nil }
                state = .onePointZero
            case .decimals:
                guard let d else { return nil }
                if digits <= 2 {
                    q += d * order
                    order /= 10
                }
                digits += 1
            }
        }
        switch state {
        case .start, .zeroPoint, .onePoint: return nil
        default: return q
        }
    }
}
