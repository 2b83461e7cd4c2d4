/// A position in a configuration file: 1-based line and column (columns count bytes).
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:col`
    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in a configuration, with the place it was found.
public struct ConfigDiagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String

    public init(_ message: String, at location: SourceLocation) {
        self.message = message
        self.location = location
    }

    /// `file:line:col: error: message`
    public var description: String { "\(location): error: \(message)" }
}

/// A configuration that could not be accepted; carries every problem found.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [ConfigDiagnostic]

    public init(_ diagnostics: [ConfigDiagnostic]) { self.diagnostics = diagnostics }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }

    /// Each diagnostic followed by its source line and a caret under the column, as
    /// compilers print them. `sources` maps file names to their text.
    public func rendered(sources: [String: String]) -> String {
        var out: [String] = []
        for d in diagnostics {
            out.append(d.description)
            if let text = sources[d.location.file] {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                if d.location.line >= 1, d.location.line <= lines.count {
                    let line = String(lines[d.location.line - 1]).replacingTabs()
                    out.append("    " + line)
                    out.append("    " + String(repeating: " ", count: max(0, d.location.column - 1)) + "^")
                }
            }
        }
        return out.joined(separator: "\n")
    }
}

extension String {
    fileprivate func replacingTabs() -> String {
        String(self.map { $0 == "\t" ? " " : $0 })
    }
}
