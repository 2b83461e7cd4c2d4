import SwiftletSDK

/// The flag pseudo-variables, as Kamailio's pv_core.c: message flags `$mf` (number) `$mF`
/// (8 hex digits) `$Mf(n)` (one flag, 0 or 1), the branch-0 flags `$bf` `$bF` `$Bf(n)` and the
/// worker's script flags `$sf` `$sF` `$Sf(n)`. All writable: `$mf = 5` sets all flags (an
/// integer is required, `$null` clears), `$Mf(3) = 1` sets one (0 resets it). `n` is a
/// number 0-31 or a name declared with `flags`.
extension CorePseudoVariables {
    static var flagClasses: [PseudoVariableClass] {
        [
            .writable("mf", { .int(Int($0.flags & 0xffff_ffff)) }, set: setMessageFlags),
            .writable("mF", { .string(hex8($0.flags)) }, set: setMessageFlags),
            PseudoVariableClass("Mf") { (pv: PseudoVariableName) throws(FixupError) in
                try oneFlag(pv, get: { $0.flags }, set: { $0.flags = $1 })
            },
            .writable("bf", { .int(Int($0.branchFlags & 0xffff_ffff)) }, set: setBranchFlags),
            .writable("bF", { .string(hex8($0.branchFlags)) }, set: setBranchFlags),
            PseudoVariableClass("Bf") { (pv: PseudoVariableName) throws(FixupError) in
                try oneFlag(pv, get: { $0.branchFlags }, set: { $0.branchFlags = $1 })
            },
            .writable("sf", { _ in .int(Int(ScriptFlags.value)) }, set: setScriptFlags),
            .writable("sF", { _ in .string(hex8(UInt64(ScriptFlags.value))) }, set: setScriptFlags),
            PseudoVariableClass("Sf") { (pv: PseudoVariableName) throws(FixupError) in
                try oneFlag(
                    pv, get: { _ in UInt64(ScriptFlags.value) },
                    set: { _, v in ScriptFlags.value = UInt32(truncatingIfNeeded: v) })
            },
        ]
    }

    /// Kamailio's `int_to_8hex`: 8 lower-case hex digits of the low 32 bits.
    static func hex8(_ v: UInt64) -> String {
        let s = String(v & 0xffff_ffff, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    /// The integer to assign to a flag set: nil (with Kamailio's error) for a string.
    static func flagsValue(_ value: PVValue, _ what: String) -> UInt64? {
        switch value {
        case .null: return 0
        case .int(let i): return UInt64(UInt32(truncatingIfNeeded: i))
        case .string:
            Log.error("core", "assigning non-int value to \(what)")
            return nil
        }
    }

    static func setMessageFlags(_ ctx: MessageContext, _ value: PVValue) -> Bool {
        guard let v = flagsValue(value, "msg flags") else { return false }
        ctx.flags = v
        return true
    }

    static func setBranchFlags(_ ctx: MessageContext, _ value: PVValue) -> Bool {
        guard let v = flagsValue(value, "branch 0 flags") else { return false }
        ctx.branchFlags = v
        return true
    }

    static func setScriptFlags(_: MessageContext, _ value: PVValue) -> Bool {
        guard let v = flagsValue(value, "script flags") else { return false }
        ScriptFlags.value = UInt32(truncatingIfNeeded: v)
        return true
    }

    /// The flag number of `$Mf(n)`: 0-31 or a declared flag name (Kamailio's
    /// `pv_parse_flag_param`).
    static func flagNumber(_ pv: PseudoVariableName) throws(FixupError) -> Int {
        guard let text = pv.inner?.trimmingCharacters(), !text.isEmpty else {
            throw FixupError("$\(pv.className) needs a flag: $\(pv.className)(n)")
        }
        guard pv.index == nil else { throw FixupError("$\(pv.className) takes no index") }
        if let n = Int(text) {
            guard (0...CoreFlags.maxFlag).contains(n) else { throw FixupError("bad flag value: [\(text)]") }
            return n
        }
        guard let n = CoreFlags.declared[text] else { throw FixupError("flag not declared: [\(text)]") }
        return n
    }

    /// `$Mf(n)` & co: 1 when set, else 0; assigning a non-zero integer sets it, 0 resets it,
    /// `$null` clears all the flags (as Kamailio does).
    static func oneFlag(
        _ pv: PseudoVariableName, get: @escaping (MessageContext) -> UInt64,
        set: @escaping (MessageContext, UInt64) -> Void
    ) throws(FixupError) -> PseudoVariable {
        let bit = UInt64(1) << UInt64(try flagNumber(pv))
        return PseudoVariable(
            text: pv.text, get: { ctx in .int(get(ctx) & bit != 0 ? 1 : 0) },
            set: { ctx, value in
                switch value {
                case .null: set(ctx, 0)
                case .int(let i): set(ctx, i != 0 ? get(ctx) | bit : get(ctx) & ~bit)
                case .string:
                    Log.error("core", "assigning non-int value to flag")
                    return false
                }
                return true
            })
    }
}
