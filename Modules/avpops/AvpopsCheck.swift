import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// `avp_check(name, op/value[/flags])` as Kamailio 5.6's `ops_check_avp`.
enum AvpopsCheck {
    enum Operator: String { case eq, ne, lt, le, gt, ge, re, fm, and, or, xor }

    /// A parameter of `avp_check`: an `$xavp(...)` (its own value rules) or the others.
    enum Value {
        case operand(AVPOperand)
        case xavp(XAVPReference)

        init(_ text: String) throws(FixupError) {
            if let x = try XAVPReference(text) {
                self = .xavp(x)
            } else {
                self = .operand(try AVPOperand(text))
            }
        }

        /// The values to compare; nil when the check fails at once (a missing XAVP).
        func values(_ ctx: MessageContext) -> [PVValue]? {
            switch self {
            case .operand(let o): return o.values(ctx).map(AvpopsCheck.normalized)
            case .xavp(let x): return x.values(ctx)
            }
        }

        var isAVP: Bool {
            if case .operand(let o) = self { return o.isAVP }
            return false
        }

        var constant: PVValue? {
            if case .operand(.constant(let v)) = self { return v }
            return nil
        }
    }

    struct Check {
        let op: Operator
        let operand: Value
        /// A constant regular expression, compiled once.
        let regex: POSIXRegex?
        var all = false
        var caseless = false
    }

    static func fixup(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let srcText = try args[0].rawText().trimmingCharacters()
        let source: Value
        do {
            source = try Value(srcText)
        } catch {
            throw FixupError("unable to get pseudo-variable in param 1", at: args[0].location)
        }
        if case .operand(.constant) = source {
            throw FixupError("unable to get pseudo-variable in param 1", at: args[0].location)
        }
        let check = try parse(try args[1].rawText(), args[1])
        return { ctx in run(ctx, source, check) }
    }

    static func parse(_ text: String, _ arg: ScriptArgument) throws(FixupError) -> Check {
        guard let slash = text.firstIndex(of: "/"), let op = Operator(rawValue: text[..<slash].lowercased()) else {
            throw FixupError("failed to parse checked value \(text)", at: arg.location)
        }
        let (valueText, flags) = splitFlags(String(text[text.index(after: slash)...]))
        guard !valueText.isEmpty else { throw FixupError("failed to parse checked value", at: arg.location) }
        let operand: Value
        do {
            operand = try Value(valueText)
        } catch {
            throw FixupError("failed to parse checked value: \(error.message)", at: arg.location)
        }
        var regex: POSIXRegex?
        if op == .re, case .string(let pattern)? = operand.constant {
            do {
                regex = try POSIXRegex(pattern)
            } catch {
                throw FixupError("bad re <\(pattern)>", at: arg.location)
            }
        }
        if op == .fm, case .int? = operand.constant {
            throw FixupError("fast_match operation requires string value or avp name/alias", at: arg.location)
        }
        var check = Check(op: op, operand: operand, regex: regex)
        for f in flags ?? "" {
            switch f {
            case "g", "G": check.all = true
            case "i", "I": check.caseless = true
            default: throw FixupError("bad flag <\(f)>", at: arg.location)
            }
        }
        return check
    }

    /// Kamailio: a null value of a pseudo-variable compares as its text, `<null>`.
    static func normalized(_ v: PVValue) -> PVValue { v == .null ? .string("<null>") : v }

    /// Every value of the source (an `$avp` with `g`, an `$xavp` with `[*]` on its field)
    /// against every value of the operand (all of an `$avp`, an `$xavp` with `[*]`).
    static func run(_ ctx: MessageContext, _ source: Value, _ check: Check) -> Int {
        guard var values = source.values(ctx), !values.isEmpty else { return -1 }
        if case .operand = source, !(source.isAVP && check.all) { values = [values[0]] }
        for value in values {
            guard let against = check.operand.values(ctx) else { return -1 }
            if check.operand.isAVP && against.isEmpty { return -1 }
            for c in against where matches(value, c, check) { return 1 }
        }
        return -1
    }

    static func matches(_ a: PVValue, _ b: PVValue, _ check: Check) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)):
            switch check.op {
            case .eq: return x == y
            case .ne: return x != y
            case .lt: return x < y
            case .le: return x <= y
            case .gt: return x > y
            case .ge: return x >= y
            case .and: return x & y != 0
            case .or: return x | y != 0
            case .xor: return x ^ y != 0
            case .re, .fm: return false
            }
        case (.string(let x), .string(let y)):
            switch check.op {
            case .eq: return check.caseless ? caselessOrder(x, y) == 0 : x == y
            case .ne: return check.caseless ? caselessOrder(x, y) != 0 : x != y
            // Kamailio orders strings with strncasecmp whatever the flags.
            case .lt: return caselessOrder(x, y) < 0
            case .le: return caselessOrder(x, y) <= 0
            case .gt: return caselessOrder(x, y) > 0
            case .ge: return caselessOrder(x, y) >= 0
            case .re:
                if let regex = check.regex { return regex.matches(x) }
                guard let regex = try? POSIXRegex(y) else {
                    Log.error("avpops", "bad re <\(y)>")
                    return false
                }
                return regex.matches(x)
            case .fm:
                return fnmatch(y, x, check.caseless ? fnmCaseFold : 0) == 0
            case .and, .or, .xor: return false
            }
        default:
            Log.error("avpops", "value types don't match")
            return false
        }
    }

    /// glibc's `FNM_CASEFOLD` (a GNU extension Swift does not import).
    static let fnmCaseFold: Int32 = 1 << 4

    /// `strncasecmp` over the longer length: ASCII letters without case, a prefix first.
    static func caselessOrder(_ a: String, _ b: String) -> Int {
        var ia = a.utf8.makeIterator()
        var ib = b.utf8.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let x?, let y?):
                let lx = x >= 65 && x <= 90 ? x + 32 : x
                let ly = y >= 65 && y <= 90 ? y + 32 : y
                if lx != ly { return Int(lx) - Int(ly) }
            }
        }
    }
}
