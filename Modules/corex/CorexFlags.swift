import SwiftletSDK

/// Message internal flags by name (`msg_iflag_set/reset/is_set`) and extended flags
/// (`setxflag/resetxflag/isxflagset`), as Kamailio's corex.
extension CorexModule {
    static var flagFunctions: [ScriptFunction] {
        [
            ScriptFunction("msg_iflag_set", parameters: 1, routes: .any, fixup: CorexFlags.internalFlagSet),
            ScriptFunction("msg_iflag_reset", parameters: 1, routes: .any, fixup: CorexFlags.internalFlagReset),
            ScriptFunction("msg_iflag_is_set", parameters: 1, routes: .any, fixup: CorexFlags.internalFlagIsSet),
            ScriptFunction("setxflag", parameters: 1, routes: .any, fixup: CorexFlags.extendedFlag(CorexFlags.set)),
            ScriptFunction(
                "resetxflag", parameters: 1, routes: .any, fixup: CorexFlags.extendedFlag(CorexFlags.reset)),
            ScriptFunction(
                "isxflagset", parameters: 1, routes: .any, fixup: CorexFlags.extendedFlag(CorexFlags.isSet)),
        ]
    }
}

enum CorexFlags {
    /// The names corex accepts and Kamailio's `msg_flags` bits (`FL_USE_UAC_FROM`,
    /// `FL_USE_UAC_TO`, `FL_UAC_AUTH`).
    static let internalFlags: [String: UInt32] = [
        "USE_UAC_FROM": 1 << 13, "USE_UAC_TO": 1 << 14, "UAC_AUTH": 1 << 19,
    ]

    /// The flag named (any case) by the argument for this message, or nil (logged).
    static func lookup(_ format: StringFormat, _ ctx: MessageContext) -> UInt32? {
        let name = format.render(ctx)
        guard let bit = internalFlags[name.uppercased()] else {
            Log.error("corex", "unsupported flag name [\(name)]")
            return nil
        }
        return bit
    }

    static func internalFlagSet(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let name = try args[0].stringFormat()
        return { ctx in
            guard let bit = lookup(name, ctx) else { return -1 }
            ctx.internalFlags |= bit
            return 1
        }
    }

    static func internalFlagReset(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let name = try args[0].stringFormat()
        return { ctx in
            guard let bit = lookup(name, ctx) else { return -1 }
            ctx.internalFlags &= ~bit
            return 1
        }
    }

    /// 1 when set, -2 when not (Kamailio's return values), -1 for an unknown name.
    static func internalFlagIsSet(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let name = try args[0].stringFormat()
        return { ctx in
            guard let bit = lookup(name, ctx) else { return -1 }
            return ctx.internalFlags & bit != 0 ? 1 : -2
        }
    }

    typealias Operation = (inout UInt64, UInt64) -> Int
    static func set(_ flags: inout UInt64, _ bit: UInt64) -> Int {
        flags |= bit
        return 1
    }
    static func reset(_ flags: inout UInt64, _ bit: UInt64) -> Int {
        flags &= ~bit
        return 1
    }
    static func isSet(_ flags: inout UInt64, _ bit: UInt64) -> Int { flags & bit != 0 ? 1 : -1 }

    /// `setxflag(n)` & co: flag 0-63 (an integer, or a PV giving one); any other is false.
    static func extendedFlag(_ op: @escaping Operation) -> ([ScriptArgument]) throws(FixupError) -> ScriptAction {
        { (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            let flag = try args[0].intParameter()
            return { ctx in
                guard let f = flag.value(ctx) else {
                    Log.error("corex", "no flag value")
                    return -1
                }
                guard (0...63).contains(f) else { return -1 }
                return op(&ctx.extendedFlags, UInt64(1) << UInt64(f))
            }
        }
    }
}
