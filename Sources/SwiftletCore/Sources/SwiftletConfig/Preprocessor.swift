/// A `-A NAME` or `-A NAME=VALUE` define given on the command line.
public struct PreprocessorDefine: Sendable, Equatable {
    public let name: String
    /// The raw value, lexed where the name is used; nil for `-A NAME`.
    public let value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }

    /// Parses `NAME` or `NAME=VALUE`; nil when NAME is not an identifier.
    public init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard Preprocessor.isIdentifier(name) else { return nil }
        self.init(name: name, value: parts.count > 1 ? String(parts[1]) : nil)
    }
}

/// The configuration after preprocessing: what the parser reads.
public struct PreprocessedConfig: Sendable {
    /// The tokens of the main file with included files spliced in, skipped `#!ifdef` regions
    /// and directives removed and defines substituted; ends with `.endOfFile`.
    public var tokens: [Token]
    /// Preprocessor and lexer problems, each with its `file:line:col`.
    public var diagnostics: [ConfigDiagnostic]
    /// The text of every file read (the main one and each included one), by the name used in
    /// token locations; used to print the source line under an error.
    public var sources: [String: String]
}

/// Kamailio's configuration preprocessor (`#!define`, `#!ifdef`, `#!subst`, `include_file`,
/// ...), working on tokens so that every token keeps the file, line and column it came from.
///
/// A token substituted from a define is lexed from the define's value and reported at the
/// place of the name it replaces. Included files are lexed under their own name. Kamailio's
/// cfg.lex does the same job with flex start conditions and `unput`.
public struct Preprocessor {
    /// Reads a file by path; nil when it cannot be read.
    public typealias FileReader = (String) -> String?
    /// Looks up an environment variable (for `#!defenv`).
    public typealias Environment = (String) -> String?

    /// Kamailio's `MAX_INCLUDE_DEPTH`: include files nest at most this deep.
    public static let maxIncludeDepth = 10
    /// Kamailio's `MAX_IFDEFS`.
    public static let maxConditionalDepth = 512
    /// Compatibility markers accepted on a `#!` line and otherwise ignored.
    static let markers: Set<String> = ["KAMAILIO", "SWIFTLET", "OPENSER", "SER", "MAXCOMPAT", "ALL"]

    struct Definition {
        /// The raw value, lexed at each use ("" for a define without a value).
        var value: String
        /// Where it was defined, for "already defined" errors.
        var location: SourceLocation
    }

    /// An open `#!ifdef`/`#!ifndef` of the file being read.
    struct Conditional {
        let directive: String
        let location: SourceLocation
        var active: Bool
        var inElse = false
    }

    /// A token waiting to be read, with the defines it was substituted from (a define is not
    /// substituted again inside its own value).
    struct Pending {
        let token: Token
        let expandedFrom: Set<String>
    }

    var defines: [String: Definition] = [:]
    var substRules: [SubstRule] = []
    var output: [Token] = []
    var diagnostics: [ConfigDiagnostic] = []
    var sources: [String: String] = [:]
    let readFile: FileReader
    let environment: Environment

    init(
        defines: [PreprocessorDefine], substitutions: [PreprocessorSubstitution] = [],
        readFile: @escaping FileReader, environment: @escaping Environment
    ) {
        self.readFile = readFile
        self.environment = environment
        let commandLine = SourceLocation(file: "<command line>", line: 1, column: 1)
        for d in defines where self.defines[d.name] == nil {
            self.defines[d.name] = Definition(value: d.value ?? "", location: commandLine)
        }
        for s in substitutions {
            addSubstitution(s.directive, s.expression, spelled: "--\(s.directive)", at: commandLine)
        }
    }

    /// Preprocesses the main file's text. `file` names it in locations and anchors relative
    /// include paths; `defines` come from the command line (`-A`); `readFile` reads included
    /// files (default: from disk) and `environment` serves `#!defenv` (default: the process's).
    public static func preprocess(
        text: String, file: String, defines: [PreprocessorDefine] = [],
        substitutions: [PreprocessorSubstitution] = [],
        readFile: @escaping FileReader = Preprocessor.readFileFromDisk,
        environment: @escaping Environment = Preprocessor.processEnvironment
    ) -> PreprocessedConfig {
        var p = Preprocessor(
            defines: defines, substitutions: substitutions, readFile: readFile, environment: environment)
        return p.run(text: text, file: file)
    }

    mutating func run(text: String, file: String) -> PreprocessedConfig {
        let end = process(text: text, file: file, depth: 0)
        output.append(end)
        return PreprocessedConfig(tokens: output, diagnostics: diagnostics, sources: sources)
    }

    /// Reads one file's tokens into `output`; returns its end-of-file token.
    mutating func process(text: String, file: String, depth: Int) -> Token {
        sources[file] = text
        var lexer = Lexer(text: text, file: file)
        var conditionals: [Conditional] = []
        var stack: [Pending] = []  // tokens from define values, next one last
        var end: Token
        while true {
            let pending: Pending
            if let p = stack.popLast() {
                pending = p
            } else if conditionals.contains(where: { !$0.active }) {
                guard let d = lexer.skipToConditionalDirective() else {
                    end = lexer.nextToken()
                    break
                }
                pending = Pending(token: d, expandedFrom: [])
            } else {
                pending = Pending(token: lexer.nextToken(), expandedFrom: [])
            }
            let t = pending.token
            switch t.kind {
            case .endOfFile:
                end = t
            case .directive:
                handleDirective(t, conditionals: &conditionals, file: file, depth: depth)
                continue
            case .identifier where t.text == "include_file" || t.text == "import_file":
                let next = stack.popLast() ?? Pending(token: lexer.nextToken(), expandedFrom: [])
                if next.token.kind == .string {
                    include(next.token, keyword: t, required: t.text == "include_file", from: file, depth: depth)
                    continue
                }
                diagnostics.append(ConfigDiagnostic("expected a quoted file name after '\(t.text)'", at: t.location))
                stack.append(next)
                continue
            case .identifier where defines[t.text] != nil:
                substitute(t, expandedFrom: pending.expandedFrom, into: &stack)
                continue
            default:
                emit(t)
                continue
            }
            break
        }
        diagnostics += lexer.diagnostics
        for c in conditionals {
            diagnostics.append(
                ConfigDiagnostic(
                    "missing '#!endif' for this '#!\(c.directive)' (different number of preprocessor directives: "
                        + "\(conditionals.count) more #!if[n]def as #!endif)", at: c.location))
        }
        return end
    }

    /// Replaces a defined name by the tokens of its value, reported at the name's place.
    mutating func substitute(_ t: Token, expandedFrom: Set<String>, into stack: inout [Pending]) {
        guard let definition = defines[t.text] else { return }
        if expandedFrom.contains(t.text) {
            diagnostics.append(ConfigDiagnostic("define '\(t.text)' expands to itself", at: t.location))
            emit(t)  // kept as a name, so that the parser does not report a cascade
            return
        }
        var lexer = Lexer(text: definition.value, file: t.location.file)
        var tokens: [Pending] = []
        let from = expandedFrom.union([t.text])
        while true {
            let v = lexer.nextToken()
            if v.kind == .endOfFile { break }
            if v.kind == .directive {
                diagnostics.append(
                    ConfigDiagnostic("the value of define '\(t.text)' holds a preprocessor directive", at: t.location))
                return
            }
            let space = tokens.isEmpty ? t.spaceBefore : v.spaceBefore
            tokens.append(
                Pending(token: v.relocated(to: t.location, range: t.range, spaceBefore: space), expandedFrom: from))
        }
        for d in lexer.diagnostics {
            diagnostics.append(ConfigDiagnostic("in the value of define '\(t.text)': \(d.message)", at: t.location))
        }
        stack += tokens.reversed()
    }

    /// Appends a token to the output: `#!subst` rules rewrite strings and pseudo-variables,
    /// and `loadmodule "name"` defines `MOD_name` (as Kamailio does when it loads a module).
    mutating func emit(_ token: Token) {
        var t = token
        if !substRules.isEmpty, t.kind == .string || t.kind == .pseudoVariable {
            let text = applySubst(t.text)
            if text != t.text {
                let raw = t.kind == .string ? Preprocessor.quoted(text) : text
                t = Token(
                    kind: t.kind, text: text, location: t.location, range: t.range, raw: raw,
                    spaceBefore: t.spaceBefore)
            }
        }
        if t.kind == .string, let previous = output.last, previous.isIdentifier("loadmodule") {
            var name = Substring(t.text)
            if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
            if name.hasSuffix(".so") { name = name.dropLast(3) }
            if defines["MOD_" + name] == nil {
                defines["MOD_" + name] = Definition(value: "", location: previous.location)
            }
        }
        output.append(t)
    }

    /// `include_file "path"` / `import_file "path"`: the path as given (from the current
    /// directory), then relative to the including file's directory.
    mutating func include(_ pathToken: Token, keyword: Token, required: Bool, from file: String, depth: Int) {
        let path = applySubst(pathToken.text)
        guard !path.isEmpty else {
            diagnostics.append(ConfigDiagnostic("empty file name after '\(keyword.text)'", at: pathToken.location))
            return
        }
        guard depth < Preprocessor.maxIncludeDepth else {
            diagnostics.append(
                ConfigDiagnostic(
                    "too many nested include files (at most \(Preprocessor.maxIncludeDepth))", at: keyword.location))
            return
        }
        var candidates = [path]
        if !path.hasPrefix("/"), let slash = file.lastIndex(of: "/") {
            candidates.append(String(file[...slash]) + path)
        }
        for candidate in candidates {
            if let text = readFile(candidate) {
                _ = process(text: text, file: candidate, depth: depth + 1)
                return
            }
        }
        if required {
            diagnostics.append(
                ConfigDiagnostic(
                    "cannot open included file \"\(path)\" (tried \(candidates.joined(separator: ", ")))",
                    at: pathToken.location))
        }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`
    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, isIdentStart(first) else { return false }
        return s.utf8.allSatisfy { isIdentStart($0) || ($0 >= 48 && $0 <= 57) }
    }

    static func isIdentStart(_ c: UInt8) -> Bool { (c | 0x20) >= 97 && (c | 0x20) <= 122 || c == UInt8(ascii: "_") }

    /// A double-quoted string literal whose value is `s`.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}
