import SwiftletSDK

/// Character-class tests (Kamailio's `is_numeric`, `is_alphanum`, `is_alphanumex`,
/// `is_tel_number`): 1 when the value passes, -2 when empty or not numeric, -3 when a
/// character is not allowed.
extension SiputilsModule {
    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    static func isAlphanumeric(_ c: UInt8) -> Bool { isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }

    func fixupIsNumeric(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let value = try args[0].stringFormat()
        return { ctx in
            let b = Array(value.render(ctx).utf8)
            guard !b.isEmpty, b.allSatisfy(Self.isDigit) else { return -2 }
            return 1
        }
    }

    func fixupIsAlphanum(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let value = try args[0].stringFormat()
        return { ctx in
            let b = Array(value.render(ctx).utf8)
            guard !b.isEmpty else { return -2 }
            return b.allSatisfy(Self.isAlphanumeric) ? 1 : -3
        }
    }

    /// `is_alphanumex(value, extra)`: alphanumeric or one of the characters of `extra`.
    func fixupIsAlphanumEx(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let value = try args[0].stringFormat()
        let extra = try args[1].stringFormat()
        return { ctx in
            let b = Array(value.render(ctx).utf8)
            guard !b.isEmpty else { return -2 }
            let e = Array(extra.render(ctx).utf8)
            return b.allSatisfy { Self.isAlphanumeric($0) || e.contains($0) } ? 1 : -3
        }
    }

    /// `is_tel_number(value)`: an optional `+` followed by a digit 1-9, then digits.
    func fixupIsTelNumber(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let value = try args[0].stringFormat()
        return { ctx in
            let b = Array(value.render(ctx).utf8)
            guard !b.isEmpty else { return -2 }
            var rest = b[...]
            if b[0] == UInt8(ascii: "+") {
                guard b.count >= 2, b[1] >= 49, b[1] <= 57 else { return -2 }
                rest = b[2...]
            }
            return rest.allSatisfy(Self.isDigit) ? 1 : -2
        }
    }
}
