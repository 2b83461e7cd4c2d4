/// A `#!name arguments` line being read, with the position of each byte for errors.
struct DirectiveLine {
    let token: Token
    let bytes: [UInt8]
    /// `#!` or `!!`, as written.
    let prefix: String
    let name: String
    /// The read position, after the name to begin with.
    var pos: Int

    init(_ token: Token) {
        self.token = token
        bytes = Array(token.raw.utf8)
        prefix = String(decoding: bytes.prefix(2), as: UTF8.self)
        var end = 2
        while end < bytes.count, DirectiveLine.isIdentChar(bytes[end]) { end += 1 }
        name = String(decoding: bytes[2..<end], as: UTF8.self)
        pos = end
    }

    /// `#!define` as written.
    var spelled: String { prefix + name }

    /// The place of a byte of the line (a define's value may continue on later lines).
    func location(_ offset: Int) -> SourceLocation {
        var line = token.location.line
        var column = token.location.column + offset
        for i in 0..<min(offset, bytes.count) where bytes[i] == 10 {
            line += 1
            column = offset - i
        }
        return SourceLocation(file: token.location.file, line: line, column: column)
    }

    var atEnd: Bool { pos >= bytes.count }
    var rest: String { String(decoding: bytes[min(pos, bytes.count)...], as: UTF8.self) }

    /// Skips blanks (Kamailio's `EAT_ABLE`: space, tab, backspace, carriage return).
    mutating func skipBlanks() {
        while pos < bytes.count, [32, 9, 8, 13].contains(bytes[pos]) { pos += 1 }
    }

    /// A define name; nil (with the error) when missing or holding a `-`.
    mutating func readName(_ diagnostics: inout [ConfigDiagnostic]) -> (name: String, location: SourceLocation)? {
        skipBlanks()
        let start = pos
        while pos < bytes.count, DirectiveLine.isIdentChar(bytes[pos]) || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        let word = String(decoding: bytes[start..<pos], as: UTF8.self)
        if word.isEmpty || !Preprocessor.isIdentStart(bytes[start]) {
            diagnostics.append(ConfigDiagnostic("missing name after '\(spelled)'", at: location(start)))
            return nil
        }
        if word.contains("-") {
            diagnostics.append(
                ConfigDiagnostic("invalid define name '\(word)': '-' is not allowed", at: location(start)))
            return nil
        }
        return (word, location(start))
    }

    /// Only blanks or a comment may follow; otherwise reports the extra text.
    func expectEnd(after what: String, _ diagnostics: inout [ConfigDiagnostic]) {
        var line = self
        line.skipBlanks()
        guard !line.atEnd else { return }
        let rest = line.rest
        if rest.hasPrefix("#") || rest.hasPrefix("//") { return }
        diagnostics.append(ConfigDiagnostic("unexpected '\(rest)' after '\(what)'", at: location(line.pos)))
    }

    static func isIdentChar(_ c: UInt8) -> Bool { Preprocessor.isIdentStart(c) || (c >= 48 && c <= 57) }
}

extension Preprocessor {
    /// Runs one directive line. While an `#!ifdef` region is skipped only the conditional
    /// directives get here (the lexer skips everything else).
    mutating func handleDirective(_ t: Token, conditionals: inout [Conditional], file: String, depth: Int) {
        var d = DirectiveLine(t)
        switch d.name {
        case "ifdef", "ifndef":
            guard conditionals.count < Preprocessor.maxConditionalDepth else {
                diagnostics.append(
                    ConfigDiagnostic(
                        "too many nested '\(d.prefix)ifdef' (at most \(Preprocessor.maxConditionalDepth))",
                        at: t.location))
                return
            }
            guard let (name, _) = d.readName(&diagnostics) else {
                conditionals.append(Conditional(directive: d.name, location: t.location, active: false))
                return
            }
            d.expectEnd(after: "\(d.spelled) \(name)", &diagnostics)
            let defined = defines[name] != nil
            conditionals.append(
                Conditional(directive: d.name, location: t.location, active: defined == (d.name == "ifdef")))
        case "else":
            d.expectEnd(after: d.spelled, &diagnostics)
            guard var last = conditionals.popLast() else {
                diagnostics.append(ConfigDiagnostic("'\(d.spelled)' without '\(d.prefix)ifdef'", at: t.location))
                return
            }
            if last.inElse {
                diagnostics.append(
                    ConfigDiagnostic(
                        "second '\(d.spelled)' for the '#!\(last.directive)' at \(last.location)", at: t.location))
            } else {
                last.active.toggle()
                last.inElse = true
            }
            conditionals.append(last)
        case "endif":
            d.expectEnd(after: d.spelled, &diagnostics)
            if conditionals.popLast() == nil {
                diagnostics.append(ConfigDiagnostic("'\(d.spelled)' without '\(d.prefix)ifdef'", at: t.location))
            }
        case "define", "def", "trydef", "trydefine", "redefine", "redef":
            guard let (name, location) = d.readName(&diagnostics) else { return }
            d.skipBlanks()
            // Kamailio keeps the value's text as written, minus escaped newlines.
            var value: [UInt8] = []
            for (i, c) in d.bytes[d.pos...].enumerated() {
                if c == UInt8(ascii: "\\"), d.pos + i + 1 < d.bytes.count, d.bytes[d.pos + i + 1] == 10 { continue }
                if c == 10 { continue }  // the lexer continues a directive only after a backslash
                value.append(c)
            }
            while let l = value.last, [32, 9, 13].contains(l) { value.removeLast() }
            let text = String(decoding: value, as: UTF8.self)
            if d.name.hasPrefix("re") {
                defines[name] = Definition(value: text, location: location)
            } else if !d.name.hasPrefix("try") || defines[name] == nil {
                define(name, value: text, at: location)
            }
        case "subst", "substdef", "substdefs":
            guard let (expression, location) = stringArgument(&d) else { return }
            addSubstitution(d.name, expression, spelled: d.spelled, at: location)
        case "defenv", "defenvs", "trydefenv", "trydefenvs":
            defineFromEnvironment(&d)
        case "include_file", "import_file":
            guard let (path, location) = stringArgument(&d) else { return }
            let pathToken = Token(kind: .string, text: path, location: location, range: t.range)
            let keyword = Token(kind: .identifier, text: d.name, location: t.location, range: t.range)
            include(pathToken, keyword: keyword, required: d.name == "include_file", from: file, depth: depth)
        case _ where Preprocessor.markers.contains(d.name):
            break
        default:
            diagnostics.append(ConfigDiagnostic("unknown preprocessor directive '\(d.spelled)'", at: t.location))
        }
    }

    /// Adds a define; a name defined already is an error (Kamailio: "already defined").
    mutating func define(_ name: String, value: String, at location: SourceLocation) {
        if let old = defines[name] {
            diagnostics.append(ConfigDiagnostic("'\(name)' is already defined (at \(old.location))", at: location))
            return
        }
        defines[name] = Definition(value: value, location: location)
    }

    /// `#!defenv NAME=VARIABLE` or `#!defenv VARIABLE`; the `s` forms quote the value, the
    /// `try` forms skip an unset variable.
    mutating func defineFromEnvironment(_ d: inout DirectiveLine) {
        d.skipBlanks()
        let start = d.pos
        while !d.atEnd, ![32, 9, 13, 10].contains(d.bytes[d.pos]) { d.pos += 1 }
        let argument = String(decoding: d.bytes[start..<d.pos], as: UTF8.self)
        let location = d.location(start)
        d.expectEnd(after: "\(d.spelled) \(argument)", &diagnostics)
        guard !argument.isEmpty else {
            diagnostics.append(ConfigDiagnostic("missing NAME or NAME=VARIABLE after '\(d.spelled)'", at: location))
            return
        }
        let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        let variable = parts.count > 1 ? String(parts[1]) : name
        guard Preprocessor.isIdentifier(name), !variable.isEmpty else {
            diagnostics.append(ConfigDiagnostic("invalid '\(d.spelled)' argument '\(argument)'", at: location))
            return
        }
        guard let value = environment(variable) else {
            if !d.name.hasPrefix("try") {
                diagnostics.append(ConfigDiagnostic("environment variable '\(variable)' is not set", at: location))
            }
            return
        }
        define(name, value: d.name.hasSuffix("s") ? Preprocessor.quoted(value) : value, at: location)
    }

    /// The quoted string after the directive name (adjacent strings concatenated, as
    /// Kamailio's lexer does), with `#!subst` rules applied; nil with an error otherwise.
    mutating func stringArgument(_ d: inout DirectiveLine) -> (String, SourceLocation)? {
        let offset = d.pos
        var lexer = Lexer(text: d.rest, file: d.token.location.file)
        var value: String? = nil
        var location = d.location(offset)
        while true {
            let t = lexer.nextToken()
            if t.kind == .endOfFile { break }
            guard t.kind == .string else {
                let message =
                    value == nil
                    ? "expected a quoted string after '\(d.spelled)'" : "unexpected '\(t.raw)' after '\(d.spelled)'"
                diagnostics.append(ConfigDiagnostic(message, at: d.location(offset + t.range.lowerBound)))
                return nil
            }
            if value == nil { location = d.location(offset + t.range.lowerBound) }
            value = (value ?? "") + t.text
        }
        for e in lexer.diagnostics {
            diagnostics.append(ConfigDiagnostic(e.message, at: d.location(offset + e.location.column - 1)))
        }
        guard let value, lexer.diagnostics.isEmpty else {
            if lexer.diagnostics.isEmpty {
                diagnostics.append(ConfigDiagnostic("expected a quoted string after '\(d.spelled)'", at: location))
            }
            return nil
        }
        return (applySubst(value), location)
    }
}
