import SwiftletSDK
import SwiftletSIP

/// avpops' `avp_pushto`, `avp_op`, `avp_subst` and `avp_subst_pv`, as Kamailio 5.6.
enum AvpopsOperations {
    enum PushTarget { case requestURI, user, host, destinationURI, branch }

    /// `avp_pushto(destination, name[/g])`: writes the value(s) into `$ru` (or its
    /// `/username`, `/domain`), `$du`, or a new branch (`$br`). With `g` every value of an
    /// AVP: each value after the first first moves the Request-URI into a branch.
    static func pushTo(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let (dstText, part) = splitFlags(try args[0].rawText())
        let target: PushTarget
        switch (dstText.trimmingCharacters(), part?.lowercased()) {
        case ("$ru", nil), ("$ruri", nil): target = .requestURI
        case ("$ru", "username"?), ("$ruri", "username"?): target = .user
        case ("$ru", "domain"?), ("$ruri", "domain"?): target = .host
        case ("$du", nil), ("$duri", nil): target = .destinationURI
        case ("$br", nil): target = .branch
        default:
            throw FixupError("unsupported destination \"\(dstText)\"; expected $ru,$du,$br", at: args[0].location)
        }
        let (srcText, flags) = splitFlags(try args[1].rawText())
        guard srcText.hasPrefix("$") else {
            throw FixupError("bad param 2; expected: $pseudo-variable ...", at: args[1].location)
        }
        var all = false
        for f in flags ?? "" {
            guard f == "g" || f == "G" else { throw FixupError("bad flag <\(f)>", at: args[1].location) }
            all = true
        }
        let source = try AVPOperand(srcText)
        return { ctx in
            var values = source.values(ctx)
            guard !values.isEmpty else { return -1 }
            if !all || !source.isAVP { values = [values[0]] }
            for (n, value) in values.enumerated() {
                let text: String
                switch value {
                case .string(let s): text = s
                case .int(let i):
                    guard target != .destinationURI, target != .branch else { return -1 }
                    text = String(UInt32(truncatingIfNeeded: i))
                case .null: text = "<null>"
                }
                switch target {
                case .requestURI, .user, .host:
                    if n > 0, !moveRequestURIToBranch(ctx) { return -1 }
                    guard setRequestURI(ctx, target, text) else { return -1 }
                case .destinationURI:
                    ctx.destinationURI = text
                case .branch:
                    ctx.branches.append(Branch(uri: text, sendSocket: ctx.forcedSendSocket))
                }
            }
            return 1
        }
    }

    /// Kamailio's `append_branch` without a URI: the Request-URI in effect (with `$du`, the
    /// path, the socket and the branch flags) becomes a branch.
    static func moveRequestURIToBranch(_ ctx: MessageContext) -> Bool {
        guard let uri = ctx.requestURI else { return false }
        ctx.branches.append(
            Branch(
                uri: uri, destinationURI: ctx.destinationURI.flatMap { $0.isEmpty ? nil : $0 },
                flags: ctx.branchFlags, sendSocket: ctx.forcedSendSocket,
                binding: ContactBinding(path: ctx.binding.path)))
        ctx.binding.path = ""
        ctx.forcedSendSocket = nil
        ctx.branchFlags = 0
        ctx.destinationURI = nil
        return true
    }

    static func setRequestURI(_ ctx: MessageContext, _ target: PushTarget, _ value: String) -> Bool {
        switch target {
        case .requestURI:
            ctx.newRequestURI = value
            return true
        case .user, .host:
            guard let uri = ctx.requestURI,
                let changed = try? URIRewrite.apply(target == .user ? .user(value) : .host(value), to: uri)
            else { return false }
            ctx.newRequestURI = changed
            return true
        default: return false
        }
    }

    enum Arithmetic: String { case add, sub, mul, div, mod, and, or, xor, not }

    /// `avp_op(src[/dst], op/value[/flags])`: integer arithmetic on every integer value of
    /// `src` with every integer value of the operand, each result added to `dst` (default
    /// `src`); `d` removes the source values. Kamailio's 32-bit integers.
    static func op(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let (srcText, dstText) = splitFlags(try args[0].rawText())
        let src = try AvpopsMemoryFunctions.requireAVP(srcText, args[0])
        let dst = try dstText.map { (t) throws(FixupError) in try AvpopsMemoryFunctions.requireAVP(t, args[0]) }
        let spec = try args[1].rawText()
        guard let slash = spec.firstIndex(of: "/"), let op = Arithmetic(rawValue: spec[..<slash].lowercased()) else {
            throw FixupError("failed to parse the value \(spec)", at: args[1].location)
        }
        let (valueText, flags) = splitFlags(String(spec[spec.index(after: slash)...]))
        guard !valueText.isEmpty else { throw FixupError("failed to parse the value", at: args[1].location) }
        let operand = try AVPOperand(valueText)
        if case .constant(.string) = operand {
            throw FixupError("operations requires integer values", at: args[1].location)
        }
        var remove = false
        for f in flags ?? "" {
            switch f {
            case "g", "G": break
            case "d", "D": remove = true
            default: throw FixupError("bad flag <\(f)>", at: args[1].location)
            }
        }
        return { ctx in
            guard let from = src.key(ctx) else { return -1 }
            let to = dst?.key(ctx) ?? from
            let sources = AVPList.values(ctx, from).compactMap { v -> Int32? in
                if case .int(let i) = v { return Int32(truncatingIfNeeded: i) }
                return nil
            }
            if sources.isEmpty && op != .not { return -1 }
            var operands: [Int32] = []
            for v in operand.values(ctx) {
                if case .int(let i) = v { operands.append(Int32(truncatingIfNeeded: i)) }
            }
            guard !operands.isEmpty else { return -1 }
            var results: [Int32] = []
            for a in sources.isEmpty ? [0] : sources {
                for b in operands { results.append(apply(op, a, b)) }
            }
            if remove {
                // Each integer source value processed is removed (string values stay).
                let kept = AVPList.values(ctx, from).filter { if case .int = $0 { false } else { true } }
                AVPList.removeAll(ctx, from)
                for v in kept.reversed() { AVPList.add(ctx, from, v) }
            }
            for r in results { AVPList.add(ctx, to, .int(Int(r))) }
            return 1
        }
    }

    static func apply(_ op: Arithmetic, _ a: Int32, _ b: Int32) -> Int32 {
        switch op {
        case .add: return a &+ b
        case .sub: return a &- b
        case .mul: return a &* b
        case .div:
            guard b != 0 else {
                Log.error("avpops", "division by 0")
                return 0
            }
            return a.dividedReportingOverflow(by: b).partialValue
        case .mod:
            guard b != 0 else {
                Log.error("avpops", "modulo by 0")
                return 0
            }
            return a.remainderReportingOverflow(dividingBy: b).partialValue
        case .and: return a & b
        case .or: return a | b
        case .xor: return a ^ b
        case .not: return ~b
        }
    }

    /// The `src[/dst][/flags]` parameter of `avp_subst`.
    struct SubstTargets {
        let src: AVPReference
        let dst: AVPReference?
        var all = false
        var remove = false

        init(_ arg: ScriptArgument) throws(FixupError) {
            let text = try arg.rawText()
            var (srcText, rest) = splitFlags(text)
            src = try AvpopsMemoryFunctions.requireAVP(srcText, arg)
            var flags: String? = rest
            if let r = rest, r.hasPrefix("$") {
                let (d, f) = splitFlags(r)
                dst = try AvpopsMemoryFunctions.requireAVP(d, arg)
                flags = f
            } else {
                dst = nil
            }
            srcText = ""
            for f in flags ?? "" {
                switch f {
                case "g", "G": all = true
                case "d", "D": remove = true
                default: throw FixupError("bad flag <\(f)>", at: arg.location)
                }
            }
        }
    }

    /// `avp_subst(avps, subst)` and `avp_subst_pv`: applies the substitution to the string
    /// values of `src`; each result is added to `dst` (the source value is replaced when
    /// there is no `dst`, or removed with `d`). 1 when something was substituted.
    static func subst(_ targets: SubstTargets, _ ctx: MessageContext, _ expression: SubstExpression) -> Int {
        guard let from = targets.src.key(ctx) else { return -1 }
        let to = targets.dst?.key(ctx) ?? from
        let removeSource = targets.remove || targets.dst == nil
        var position = 0
        var done = 0
        while position < AVPList.values(ctx, from).count {
            guard case .string(let s) = AVPList.values(ctx, from)[position],
                case .replaced(let result) = expression.apply(s, ctx)
            else {
                position += 1
                continue
            }
            AVPList.add(ctx, to, .string(result))
            if to == from { position += 1 }
            done += 1
            if removeSource { AVPList.remove(ctx, from, at: position) } else { position += 1 }
            if !targets.all { break }
        }
        return done > 0 ? 1 : -1
    }

    static func substFixup(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let targets = try SubstTargets(args[0])
        let expression: SubstExpression
        do {
            expression = try SubstExpression(try args[1].rawText())
        } catch {
            throw FixupError("bad subst re \(error.message)", at: args[1].location)
        }
        return { ctx in subst(targets, ctx, expression) }
    }

    /// `avp_subst_pv`: the substitution is a string with pseudo-variables, evaluated (twice,
    /// as Kamailio's `pv_eval_str`) and compiled per call.
    static func substPVFixup(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let targets = try SubstTargets(args[0])
        let format = try args[1].stringFormat()
        return { ctx in
            var text = format.render(ctx)
            if text.contains("$"), let second = try? StringFormat(parsing: text) { text = second.render(ctx) }
            guard let expression = try? SubstExpression(text) else {
                Log.error("avpops", "bad subst re \(text)")
                return -1
            }
            return subst(targets, ctx, expression)
        }
    }
}
