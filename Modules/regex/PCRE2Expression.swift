import CPCRE2
import SwiftletSDK

/// One compiled PCRE2 expression, shared by every worker thread (matching only reads it).
final class PCRE2Expression: @unchecked Sendable {
    /// PCRE2 compile options (Kamailio's `pcre_caseless`, ... parameters).
    struct Options: OptionSet, Sendable {
        let rawValue: UInt32
        static let caseless = Options(rawValue: swiftlet_pcre2_caseless)
        static let multiline = Options(rawValue: swiftlet_pcre2_multiline)
        static let dotall = Options(rawValue: swiftlet_pcre2_dotall)
        static let extended = Options(rawValue: swiftlet_pcre2_extended)
    }

    /// A pattern PCRE2 refused: its message and the offset it stopped at.
    struct CompileError: Error, CustomStringConvertible {
        let message: String
        let offset: Int
        var description: String { "failed at offset \(offset): \(message)" }
    }

    private let code: OpaquePointer

    init(_ pattern: String, options: Options) throws(CompileError) {
        var error: Int32 = 0
        var offset = 0
        let compiled = pattern.withCString { p in
            swiftlet_pcre2_compile(p, pattern.utf8.count, options.rawValue, &error, &offset)
        }
        guard let compiled else {
            var buffer = [CChar](repeating: 0, count: 256)
            _ = swiftlet_pcre2_error_message(error, &buffer, buffer.count)
            throw CompileError(message: String(cString: buffer), offset: offset)
        }
        code = compiled
    }

    deinit { swiftlet_pcre2_free(code) }

    /// Matching `subject`: true on a match, false when there is none or matching failed.
    func matches(_ subject: String) -> Bool {
        subject.withCString { p in swiftlet_pcre2_match(code, p, subject.utf8.count) } >= 0
    }
}
