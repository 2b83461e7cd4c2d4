import Foundation
import SwiftletSDK

/// The groups file of the regex module (`file` parameter), read as Kamailio 5.6's
/// `load_pcres`: a line starting with `[` opens the next group (numbered from 0 in file
/// order, whatever is between the brackets); each following line is one expression of it;
/// lines starting with white space or `#` are skipped. A group's expressions become one
/// alternation, `((re1)|(re2)|...)`; a group without any becomes `^$`.
struct RegexGroupFile {
    /// A file that cannot be used.
    struct LoadError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// The limits of the module's `max_groups` and `group_max_size` parameters.
    var maxGroups = 20
    var groupMaxSize = 8192

    /// Kamailio reads lines with `fgets(line, FILE_MAX_LINE - 4)`: longer lines are split.
    static let maxLine = 495

    /// The pattern of each group, in order.
    func patterns(ofFile path: String) throws(LoadError) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError("could not open file '\(path)'")
        }
        return try patterns(String(decoding: data, as: UTF8.self))
    }

    /// The pattern of each group of the file's text.
    func patterns(_ text: String) throws(LoadError) -> [String] {
        var groups: [String] = []
        for line in Self.lines(text) {
            guard let first = line.first, !first.isWhitespace, first != "#" else { continue }
            if groups.isEmpty && first != "[" {
                throw LoadError("first group must be initialized with [0] before any regular expression")
            }
            if first == "[" {
                guard groups.count < maxGroups else { throw LoadError("max patterns exceeded") }
                groups.append("(")
                continue
            }
            guard groups[groups.count - 1].utf8.count + line.utf8.count < groupMaxSize - 4 else {
                throw LoadError("pattern max file exceeded")
            }
            // "(" + the line + ")" (its line break kept, to become "|" below).
            if line.hasSuffix("\n") {
                groups[groups.count - 1] += "(" + line.dropLast() + ")\n"
            } else {
                groups[groups.count - 1] += "(" + line + ")"
            }
        }
        guard !groups.isEmpty else { throw LoadError("no expressions in the file") }
        return groups.map { group in
            if group == "(" { return "^$" }
            var p = Substring(group)
            if p.hasSuffix("\n") { p = p.dropLast() }
            return p.replacingOccurrences(of: "\n", with: "|") + ")"
        }
    }

    /// The file's lines with their line breaks, as `fgets` returns them (long lines split).
    static func lines(_ text: String) -> [Substring] {
        var out: [Substring] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            var end = rest.firstIndex(of: "\n").map { rest.index(after: $0) } ?? rest.endIndex
            if rest.utf8.distance(from: rest.startIndex, to: end) > maxLine {
                end = rest.utf8.index(rest.startIndex, offsetBy: maxLine)
            }
            out.append(rest[..<end])
            rest = rest[end...]
        }
        return out
    }
}
