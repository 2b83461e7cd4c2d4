import SwiftletSDK

/// `$C(fb)`: terminal colour escape sequences for xlog lines (Kamailio's `pv_get_color` and
/// `dprint_term_color`). `f` is the foreground, `b` the background: `x` default, `s` black,
/// `r` red, `g` green, `y` yellow, `b` blue, `p` purple, `c` cyan, `w` white; an upper-case
/// foreground is bold, `_` keeps the font. Empty unless logging goes to stderr or the
/// `force_color` parameter is set, as in Kamailio.
enum XLogColor {
    static func escape(foreground f: Character, background b: Character) -> String {
        var s = "\u{1B}["
        var fg = f
        if f != "_" {
            if f.isLowercase {
                s += "0;"
            } else {
                s += "1;"
                fg = Character(f.lowercased())
            }
        }
        let codes: [Character: Int] = ["x": 9, "s": 0, "r": 1, "g": 2, "y": 3, "b": 4, "p": 5, "c": 6, "w": 7]
        s += "3\(codes[fg] ?? 9);"
        s += "4\(codes[b] ?? 9)"
        return s + "m"
    }

    static func pseudoVariableClass(forceColor: @escaping () -> Bool) -> PseudoVariableClass {
        PseudoVariableClass("C") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            guard let name = pv.inner, name.count == 2 else {
                throw FixupError("$C needs two colour letters: $C(fb), e.g. $C(rx)")
            }
            let chars = Array(name)
            let sequence = escape(foreground: chars[0], background: chars[1])
            return PseudoVariable(text: pv.text) { _ in
                .string(Log.logsToStderr || forceColor() ? sequence : "")
            }
        }
    }
}
