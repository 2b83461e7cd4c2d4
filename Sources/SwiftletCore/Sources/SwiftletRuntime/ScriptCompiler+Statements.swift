import SwiftletSDK

extension ScriptCompiler {
    /// `switch`: Kamailio's SWITCH_T/MATCH_T. Integer labels compare the subject as an integer
    /// (a subject that is not a number runs `default`); string labels compare it as a string,
    /// exactly; regex labels (`case /"re":`) match it case-sensitively. The case bodies form
    /// one list: execution starts at the matching label and falls through until `break`.
    func compileSwitch(_ subject: Expression, _ cases: [SwitchCase], _ loc: SourceLocation) -> CompiledStatement {
        enum Kind { case int, string }
        var kind: Kind? = nil
        var firstLabel: SourceLocation? = nil
        var defaultIndex: Int? = nil
        var defaultLocation: SourceLocation? = nil
        var intLabels: [Int: Int] = [:]  // value -> case index
        var stringLabels: [(value: String, index: Int)] = []
        var regexLabels: [(regex: POSIXRegex, index: Int)] = []
        var matchers: [(index: Int, isRegex: Bool)] = []  // string/regex labels in source order
        var seenInts: [Int: SourceLocation] = [:]
        var seenStrings: [String: SourceLocation] = [:]
        for (i, c) in cases.enumerated() {
            switch c.label {
            case .default:
                if let first = defaultLocation {
                    error("more than one 'default' label in switch (first at \(first))", c.location)
                } else {
                    defaultIndex = i
                    defaultLocation = c.location
                }
            case .value(let e), .regex(let e):
                let isRegex: Bool
                if case .regex = c.label { isRegex = true } else { isRegex = false }
                guard let value = constantValue(e) else {
                    error("non constant expression in case label", e.location)
                    continue
                }
                let labelKind: Kind
                if case .int = value, !isRegex { labelKind = .int } else { labelKind = .string }
                if let kind, kind != labelKind {
                    error(
                        "mixed integer and string/regex case labels are not allowed in a switch (first label at \(firstLabel!))",
                        e.location)
                    continue
                }
                if kind == nil {
                    kind = labelKind
                    firstLabel = e.location
                }
                switch (value, isRegex) {
                case (.int(let n), false):
                    if let first = seenInts[n] {
                        error("duplicate case label \(n) (first at \(first))", e.location)
                        continue
                    }
                    seenInts[n] = e.location
                    intLabels[n] = i
                case (_, true):
                    guard let re = POSIXRegex.script(value.stringValue, caseInsensitive: false) else {
                        error("bad regular expression \"\(value.stringValue)\" in case label", e.location)
                        continue
                    }
                    matchers.append((regexLabels.count, true))
                    regexLabels.append((re, i))
                default:
                    let s = value.stringValue
                    if let first = seenStrings[s] {
                        error("duplicate case label \"\(s)\" (first at \(first))", e.location)
                        continue
                    }
                    seenStrings[s] = e.location
                    matchers.append((stringLabels.count, false))
                    stringLabels.append((s, i))
                }
            }
        }
        // One flat list of statements; each case starts at an offset in it.
        var flat: [CompiledStep] = []
        var starts: [Int] = []
        for c in cases {
            starts.append(flat.count)
            flat += compileStatements(c.body)
        }
        let value = compileExpression(subject)
        let defaultStart = defaultIndex.map { starts[$0] }
        let isIntSwitch = kind == .int
        let ints = intLabels.mapValues { starts[$0] }
        let strings = stringLabels.map { ($0.value, starts[$0.index]) }
        let regexes = regexLabels.map { ($0.regex, starts[$0.index]) }
        let order = matchers
        return { ctx in
            ctx.coreError.beginAction()
            let v = value(ctx)
            if ctx.exitRequested { return .exit }
            var start = defaultStart
            if isIntSwitch {
                if let n = v.strictInt, let s = ints[n] { start = s }
            } else if v != .null {
                let s = v.stringValue
                for m in order {
                    if m.isRegex {
                        if regexes[m.index].0.matches(s) {
                            start = regexes[m.index].1
                            break
                        }
                    } else if strings[m.index].0 == s {
                        start = strings[m.index].1
                        break
                    }
                }
            }
            guard let start else { return .next }
            for k in start..<flat.count {
                switch flat[k].run(ctx) {
                case .next: continue
                case .break: return .next
                case let f: return f
                }
            }
            return .next
        }
    }

    /// `while (condition) body`: runs while the condition is not 0, at most `max_while_loops`
    /// times (then logs an error and goes on after the loop, as Kamailio); `break` leaves it.
    func compileWhile(_ condition: Expression, _ body: [Statement], _ loc: SourceLocation) -> CompiledStatement {
        let cond = compileExpression(condition)
        let block = compileList(body)
        let max = environment.maxWhileLoops
        let position = condition.location
        // A function call as the condition counts as true when it returns > 0 (Kamailio's
        // action rvalue is `ret > 0`): `while (hf_iterator_next("i"))` stops at -1.
        let isCall: Bool
        if case .call = condition { isCall = true } else { isCall = false }
        return { ctx in
            ctx.coreError.beginAction()
            var i = 0
            while true {
                let v = cond(ctx)
                if ctx.exitRequested { return .exit }
                guard isCall ? v.intValue > 0 : v.intValue != 0 else { return .next }
                if max > 0 { i += 1 }
                if i > max {
                    Log.error("core", "runaway while (\(position)): more than \(max) loops")
                    return .next
                }
                switch block(ctx) {
                case .next: continue
                case .break: return .next
                case let f: return f
                }
            }
        }
    }

    /// The value of a constant expression (literals, constant keywords, operators on
    /// constants), or nil when it depends on the message.
    func constantValue(_ e: Expression) -> PVValue? {
        switch e {
        case .integer(let n, _): return .int(n)
        case .string(let s, _): return .string(s)
        case .name(let n, _):
            let lower = n.lowercased()
            if let v = CoreKeywords.protocolNumbers[lower] ?? CoreKeywords.familyNumbers[lower] { return .int(v) }
            if ["yes", "true", "on", "enable"].contains(lower) { return .int(1) }
            if ["no", "false", "off", "disable"].contains(lower) { return .int(0) }
            return nil
        case .unary(let op, let o, _):
            guard let v = constantValue(o) else { return nil }
            switch op {
            case "-": return .int(-v.intValue)
            case "~": return .int(~v.intValue)
            case "!": return .int(v.intValue > 0 ? 0 : 1)
            default: return nil
            }
        case .binary(let op, let l, let r, _):
            guard let a = constantValue(l), let b = constantValue(r) else { return nil }
            if op == "+", case .string(let s) = a { return .string(s + b.stringValue) }
            let x = a.intValue
            let y = b.intValue
            switch op {
            case "+": return .int(x &+ y)
            case "-": return .int(x &- y)
            case "*": return .int(x &* y)
            case "/": return y == 0 ? nil : .int(x / y)
            case "mod": return y == 0 ? nil : .int(x % y)
            case "|": return .int(x | y)
            case "&": return .int(x & y)
            case "^": return .int(x ^ y)
            case "<<": return .int(x << y)
            case ">>": return .int(x >> y)
            default: return nil
            }
        case .pseudoVariable, .call: return nil
        }
    }
}

extension PVValue {
    /// The value as an integer when it is one (a number or a numeric string), else nil.
    var strictInt: Int? {
        switch self {
        case .int(let i): return i
        case .string(let s):
            let t = s.trimmingCharacters(in: " \t")
            if let i = Int(t) { return i }
            if t.hasPrefix("0x") || t.hasPrefix("0X") { return Int(t.dropFirst(2), radix: 16) }
            return nil
        case .null: return nil
        }
    }
}

extension String {
    /// The string without the given leading and trailing characters.
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
