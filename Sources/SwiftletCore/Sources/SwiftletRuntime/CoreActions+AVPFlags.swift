import SwiftletSDK

/// AVP flags (Kamailio's `avpflags NAME, ...` declarations and the `setavpflag`,
/// `resetavpflag`, `isavpflagset` actions): each AVP value carries its own flags.
enum AVPFlagActions {
    static let table: [String: CoreActions.Info] = [
        "setavpflag": .init(2...2), "resetavpflag": .init(2...2), "isavpflagset": .init(2...2),
    ]

    /// Kamailio's `register_avpflag`: names are case-insensitive, bits from 1 << 13 on, at most 18.
    static let firstBit = 13
    static let maxFlags = 32 - 1 - firstBit

    static func resolve(_ declarations: [FlagDeclaration], errors: inout [ConfigDiagnostic]) -> [String: UInt32] {
        var bits: [String: UInt32] = [:]
        for d in declarations {
            let name = d.name.lowercased()
            if bits[name] != nil { continue }
            guard bits.count < maxFlags else {
                errors.append(
                    ConfigDiagnostic(
                        "cannot register new avp flag ('\(d.name)'), max.number of flags (\(maxFlags)) reached",
                        at: d.location))
                continue
            }
            bits[name] = UInt32(1) << UInt32(firstBit + bits.count)
        }
        return bits
    }

    /// The AVP an action names: `$avp(name)`, `$(avp(name)[i])`, `$(avp(name)[*])` or "name".
    struct Target {
        let name: String
        /// nil: every value (`[*]`).
        let index: Int?
    }

    static func target(_ e: Expression) -> Target? {
        switch e {
        case .string(let s, _), .name(let s, _):
            return Target(name: s, index: 0)
        case .pseudoVariable(let text, _):
            var t = Substring(text)
            guard t.hasPrefix("$") else { return nil }
            t = t.dropFirst()
            var wrapped = false
            if t.hasPrefix("("), t.hasSuffix(")") {
                t = t.dropFirst().dropLast()
                wrapped = true
            }
            guard t.hasPrefix("avp("), let close = t.firstIndex(of: ")") else { return nil }
            let name = String(t[t.index(t.startIndex, offsetBy: 4)..<close])
            let rest = t[t.index(after: close)...]
            if rest.isEmpty { return Target(name: name, index: 0) }
            guard wrapped, rest.hasPrefix("["), rest.hasSuffix("]") else { return nil }
            let inner = rest.dropFirst().dropLast()
            if inner == "*" { return Target(name: name, index: nil) }
            guard let i = Int(inner) else { return nil }
            return Target(name: name, index: i)
        default:
            return nil
        }
    }
}

extension ScriptCompiler {
    /// Compiles `setavpflag`/`resetavpflag`/`isavpflagset`; nil for other names.
    func compileAVPFlagAction(_ name: String, _ args: [Expression], _ loc: SourceLocation) -> ScriptAction? {
        guard AVPFlagActions.table[name] != nil else { return nil }
        guard let target = AVPFlagActions.target(args[0]) else {
            error("\(name)() takes an AVP ($avp(name) or \"name\") first", args[0].location)
            return { _ in -1 }
        }
        let flagName: String
        switch args[1] {
        case .string(let s, _), .name(let s, _): flagName = s
        default:
            error("\(name)() takes an avpflags name second", args[1].location)
            return { _ in -1 }
        }
        guard let bit = avpFlagBits[flagName.lowercased()] else {
            error("avpflag not declared: '\(flagName)' (declare it with 'avpflags \(flagName)')", args[1].location)
            return { _ in -1 }
        }
        // 1: set, 0: reset, -1: test only (Kamailio's AVPFLAG_OPER_T).
        let operation = name == "setavpflag" ? 1 : name == "resetavpflag" ? 0 : -1
        return { ctx in
            guard let values = ctx.avps[target.name], !values.isEmpty else { return -1 }
            var flags = ctx.avpFlags[target.name] ?? [UInt32](repeating: 0, count: values.count)
            let positions: [Int]
            if let i = target.index {
                let p = i >= 0 ? i : values.count + i
                guard p >= 0, p < values.count else { return -1 }
                positions = [p]
            } else {
                positions = Array(values.indices)
            }
            var any = false
            for p in positions {
                if operation == 1 { flags[p] |= bit } else if operation == 0 { flags[p] &= ~bit }
                any = any || flags[p] & bit != 0
            }
            if operation >= 0 { ctx.avpFlags[target.name] = flags }
            return any ? 1 : -1
        }
    }
}
