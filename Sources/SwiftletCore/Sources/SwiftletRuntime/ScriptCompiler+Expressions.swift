import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A compiled expression: yields a value for a message.
typealias CompiledExpression = (MessageContext) -> PVValue

extension PVValue {
    /// Kamailio's string-to-int conversion: "" and non-numeric strings are 0, `0x..` is hex.
    var intValue: Int {
        switch self {
        case .null: return 0
        case .int(let i): return i
        case .string(let s):
            if let i = Int(s) { return i }
            if s.hasPrefix("0x") || s.hasPrefix("0X"), let i = Int(s.dropFirst(2), radix: 16) { return i }
            return 0
        }
    }

    /// The value as a string (null is the empty string).
    var stringValue: String {
        switch self {
        case .null: ""
        case .int(let i): String(i)
        case .string(let s): s
        }
    }
}

extension POSIXRegex {
    /// A regular expression of the script (Kamailio's `=~`, `switch` regex labels, `modparam`
    /// module names): POSIX extended, without `REG_NEWLINE`, case-insensitive unless
    /// `caseInsensitive` is false (`switch` labels); nil when the pattern does not compile.
    static func script(_ pattern: String, caseInsensitive: Bool = true) -> POSIXRegex? {
        try? POSIXRegex(pattern, flags: REG_EXTENDED | (caseInsensitive ? REG_ICASE : 0))
    }
}

extension ScriptCompiler {
    /// A condition: the expression's integer value is > 0 (Kamailio's `if (v>0)`).
    /// A function call as the condition (`if (f())`, `if (!f())`, the usual tests) calls
    /// the action directly: no value is made and no expression closure is in between. The
    /// effects are those of the expression's call (`$rc`, 0 ends the script).
    func compileCondition(_ e: Expression) -> (MessageContext) -> Bool {
        switch e {
        case .call(let name, let args, let loc) where !Self.expressionFunctions.contains(name):
            let action = compileCall(name, args, loc)
            return { ctx in Self.runConditionCall(action, ctx) > 0 }
        case .unary("!", .call(let name, let args, let loc), _) where !Self.expressionFunctions.contains(name):
            let action = compileCall(name, args, loc)
            return { ctx in Self.runConditionCall(action, ctx) <= 0 }
        default:
            let v = compileExpression(e)
            return { ctx in v(ctx).intValue > 0 }
        }
    }

    /// The core's functions that yield a value rather than a return code.
    static let expressionFunctions: Set<String> = ["strlen", "strempty", "selval"]

    /// Runs a function called in an expression: its return code becomes `$rc`, and 0 ends
    /// the script (as `compileExpression` does for a call).
    @inline(__always)
    private static func runConditionCall(_ action: ScriptAction, _ ctx: MessageContext) -> Int {
        ctx.coreError.beginAction()
        let r = action(ctx)
        ctx.lastReturnCode = r
        if r == 0 { ctx.exitRequested = true }
        return r
    }

    func compileExpression(_ e: Expression) -> CompiledExpression {
        switch e {
        case .integer(let i, _):
            let v = PVValue.int(i)
            return { _ in v }
        case .string(let s, _):
            let v = PVValue.string(s)
            return { _ in v }
        case .pseudoVariable(let text, let loc):
            return compilePseudoVariable(text, loc)?.get ?? { _ in .null }
        case .name(let n, let loc):
            return compileKeyword(n, loc)
        case .call(let name, let args, let loc) where Self.expressionFunctions.contains(name):
            return compileExpressionFunction(name, args, loc)
        case .call(let name, let args, let loc):
            let action = compileCall(name, args, loc)
            return { ctx in
                ctx.coreError.beginAction()
                let r = action(ctx)
                ctx.lastReturnCode = r
                if r == 0 { ctx.exitRequested = true }
                return .int(r)
            }
        case .unary(let op, let operand, let loc):
            if op == "defined" {
                let v = compileExpression(operand)
                return { ctx in v(ctx) == .null ? .int(0) : .int(1) }
            }
            let v = compileExpression(operand)
            switch op {
            case "!": return { ctx in .int(v(ctx).intValue > 0 ? 0 : 1) }
            case "-": return { ctx in .int(-v(ctx).intValue) }
            case "~": return { ctx in .int(~v(ctx).intValue) }
            default:
                error("unknown unary operator '\(op)'", loc)
                return { _ in .null }
            }
        case .binary(let op, let lhs, let rhs, let loc):
            return compileBinary(op, lhs, rhs, loc)
        }
    }

    private func compileBinary(_ op: String, _ lhs: Expression, _ rhs: Expression, _ loc: SourceLocation)
        -> CompiledExpression
    {
        // Comparing with $null is a defined-test (Kamailio).
        if op == "==" || op == "!=", case .pseudoVariable("$null", _) = rhs {
            let l = compileExpression(lhs)
            let eq = op == "=="
            return { ctx in .int((l(ctx) == .null) == eq ? 1 : 0) }
        }
        if let keyword = compileKeywordComparison(op, lhs, rhs, loc) { return keyword }
        let l = compileExpression(lhs)
        if op == "=~" {
            if case .string(let pattern, let ploc) = rhs {
                let re = POSIXRegex.script(pattern)
                if re == nil { error("invalid regular expression \"\(pattern)\"", ploc) }
                return { ctx in .int(re?.matches(l(ctx).stringValue) == true ? 1 : 0) }
            }
            let r = compileExpression(rhs)
            return { ctx in .int(POSIXRegex.script(r(ctx).stringValue)?.matches(l(ctx).stringValue) == true ? 1 : 0) }
        }
        let r = compileExpression(rhs)
        func bool(_ b: Bool) -> PVValue { .int(b ? 1 : 0) }
        switch op {
        case "||": return { ctx in bool(l(ctx).intValue > 0 || r(ctx).intValue > 0) }
        case "&&": return { ctx in bool(l(ctx).intValue > 0 && r(ctx).intValue > 0) }
        case "|": return { ctx in .int(l(ctx).intValue | r(ctx).intValue) }
        case "&": return { ctx in .int(l(ctx).intValue & r(ctx).intValue) }
        case "^": return { ctx in .int(l(ctx).intValue ^ r(ctx).intValue) }
        case "<<": return { ctx in .int(l(ctx).intValue << r(ctx).intValue) }
        case ">>": return { ctx in .int(l(ctx).intValue >> r(ctx).intValue) }
        case "==", "!=":
            // The left operand's type decides: string compare if it is a string, else int.
            let eq = op == "=="
            return { ctx in
                let a = l(ctx)
                let b = r(ctx)
                let same: Bool
                switch a {
                case .string(let s): same = s == b.stringValue
                case .int(let i): same = i == b.intValue
                case .null: same = b == .null || (b.stringValue.isEmpty && b != .int(0))
                }
                return bool(same == eq)
            }
        case "eq", "ne":
            let eq = op == "eq"
            return { ctx in bool((l(ctx).stringValue == r(ctx).stringValue) == eq) }
        case "ieq", "ine":
            let eq = op == "ieq"
            return { ctx in bool((l(ctx).intValue == r(ctx).intValue) == eq) }
        case "<", ">", "<=", ">=":
            return { ctx in
                let a = l(ctx)
                let b = r(ctx)
                let c: Int
                if case .string(let s) = a {
                    let t = b.stringValue
                    c = s < t ? -1 : (s == t ? 0 : 1)
                } else {
                    let x = a.intValue
                    let y = b.intValue
                    c = x < y ? -1 : (x == y ? 0 : 1)
                }
                switch op {
                case "<": return bool(c < 0)
                case ">": return bool(c > 0)
                case "<=": return bool(c <= 0)
                default: return bool(c >= 0)
                }
            }
        case "+":
            return { ctx in
                let a = l(ctx)
                if case .string(let s) = a { return .string(s + r(ctx).stringValue) }
                return .int(a.intValue &+ r(ctx).intValue)
            }
        case "-": return { ctx in .int(l(ctx).intValue &- r(ctx).intValue) }
        case "*": return { ctx in .int(l(ctx).intValue &* r(ctx).intValue) }
        case "/", "mod":
            let isDiv = op == "/"
            return { ctx in
                let d = r(ctx).intValue
                guard d != 0 else {
                    Log.error("core", "division by zero in the script")
                    return .int(0)
                }
                return .int(isDiv ? l(ctx).intValue / d : l(ctx).intValue % d)
            }
        default:
            error("unknown operator '\(op)'", loc)
            return { _ in .null }
        }
    }

    /// The expression functions of the core: `strlen(e)`, `strempty(e)`, `selval(c, a, b)`.
    private func compileExpressionFunction(_ name: String, _ args: [Expression], _ loc: SourceLocation)
        -> CompiledExpression
    {
        let wanted = name == "selval" ? 3 : 1
        guard args.count == wanted else {
            error("\(name)() takes \(wanted) parameter(s), \(args.count) given", loc)
            return { _ in .null }
        }
        let compiled = args.map(compileExpression)
        switch name {
        case "strlen": return { ctx in .int(compiled[0](ctx).stringValue.utf8.count) }
        case "strempty": return { ctx in .int(compiled[0](ctx).stringValue.isEmpty ? 1 : 0) }
        default: return { ctx in compiled[0](ctx).intValue > 0 ? compiled[1](ctx) : compiled[2](ctx) }
        }
    }
}
