/// Turns `redis_cmd`'s command text and parameters into a command's arguments, as hiredis'
/// `redisvFormatCommand` does with Kamailio's call: the text is split at spaces, and each
/// `%s` is replaced by the next parameter, whole (spaces included) and inside the word it
/// stands in (`key:%s`). `%%` is a `%`.
enum RedisCommandFormat {
    enum Failure: Error, Equatable {
        /// More `%s` than parameters.
        case missingParameter
        /// `%b` (binary, two C arguments) cannot be given from the script.
        case unsupportedSpecifier(Character)
    }

    static func arguments(_ command: String, _ parameters: [String]) throws(Failure) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var word: [UInt8] = []
        var touched = false
        var next = 0
        let b = Array(command.utf8)
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: " ") {
                if touched { result.append(word) }
                word.removeAll(keepingCapacity: true)
                touched = false
            } else if c == UInt8(ascii: "%"), i + 1 < b.count {
                let s = b[i + 1]
                switch s {
                case UInt8(ascii: "s"):
                    guard next < parameters.count else { throw .missingParameter }
                    word.append(contentsOf: parameters[next].utf8)
                    next += 1
                case UInt8(ascii: "%"): word.append(s)
                case UInt8(ascii: "b"): throw .unsupportedSpecifier("b")
                default:
                    word.append(c)
                    word.append(s)
                }
                touched = true
                i += 1
            } else {
                word.append(c)
                touched = true
            }
            i += 1
        }
        if touched { result.append(word) }
        return result
    }

    /// True when the text holds a `%s` or `%b` (Kamailio refuses those without parameters).
    static func hasSpecifier(_ command: String) -> Bool {
        let b = Array(command.utf8)
        guard b.count > 1 else { return false }
        for i in 0..<(b.count - 1) where b[i] == UInt8(ascii: "%") {
            if b[i + 1] == UInt8(ascii: "s") || b[i + 1] == UInt8(ascii: "b") { return true }
        }
        return false
    }
}
