/// Parses configuration tokens into a `ConfigFile`, collecting every syntax error (it
/// resynchronises after an error instead of stopping at the first one).
public struct Parser {
    var tokens: [Token]
    var index = 0
    public private(set) var diagnostics: [ConfigDiagnostic] = []

    /// The words Kamailio's lexer reads as the numbers 1 and 0.
    static let booleanWords: [String: Int] = [
        "yes": 1, "true": 1, "on": 1, "enable": 1, "no": 0, "false": 0, "off": 0, "disable": 0,
    ]

    /// Top-level words that begin a routing block.
    static let routeKeywords: Set<String> = [
        "request_route", "route", "failure_route", "branch_route", "onreply_route", "reply_route", "onsend_route",
        "event_route",
    ]

    /// Parses a whole file's text: preprocessed without defines (included files are read
    /// from disk), then parsed. The diagnostics of both steps, by file, line and column.
    public static func parse(text: String, file: String) -> (ConfigFile, [ConfigDiagnostic]) {
        let preprocessed = Preprocessor.preprocess(text: text, file: file)
        let (config, syntax) = parse(tokens: preprocessed.tokens)
        let all = (preprocessed.diagnostics + syntax).sorted {
            ($0.location.file, $0.location.line, $0.location.column) < (
                $1.location.file, $1.location.line, $1.location.column
            )
        }
        return (config, all)
    }

    /// Parses preprocessed tokens (`PreprocessedConfig.tokens`, ending with `.endOfFile`);
    /// returns the syntax errors in the order found.
    public static func parse(tokens: [Token]) -> (ConfigFile, [ConfigDiagnostic]) {
        var parser = Parser(tokens: tokens)
        let config = parser.parseFile()
        return (config, parser.diagnostics)
    }

    init(tokens: [Token]) {
        self.tokens =
            tokens.last?.kind == .endOfFile
            ? tokens
            : tokens + [
                Token(
                    kind: .endOfFile, text: "",
                    location: tokens.last?.location ?? SourceLocation(file: "", line: 1, column: 1),
                    range: 0..<0)
            ]
    }

    // MARK: token access

    var current: Token { tokens[index] }
    func peek(_ k: Int = 1) -> Token { tokens[min(index + k, tokens.count - 1)] }
    var atEnd: Bool { current.kind == .endOfFile }

    @discardableResult
    mutating func advance() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    struct SyntaxError: Error {}

    mutating func fail(_ message: String, at location: SourceLocation? = nil) -> SyntaxError {
        diagnostics.append(ConfigDiagnostic(message, at: location ?? current.location))
        return SyntaxError()
    }

    mutating func expectPunctuation(_ p: String, _ context: String) throws(SyntaxError) {
        guard current.isPunctuation(p) else {
            // A missing terminator is reported where it belongs: right after the previous token.
            let at = p == ";" && index > 0 ? endLocation(of: tokens[index - 1]) : current.location
            // Kamailio's wording for a missing ';', which operators' scripts grep for.
            let kamailio = p == ";" ? " (bad command: missing ';'?)" : ""
            throw fail("expected '\(p)' \(context), found \(describe(current))\(kamailio)", at: at)
        }
        advance()
    }

    /// The position just after a token (tokens never span lines).
    func endLocation(of t: Token) -> SourceLocation {
        SourceLocation(file: t.location.file, line: t.location.line, column: t.location.column + t.range.count)
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .endOfFile: return "end of file"
        case .string: return "string \"\(t.text)\""
        default: return "'\(t.text)'"
        }
    }

    // MARK: top level

    mutating func parseFile() -> ConfigFile {
        var config = ConfigFile()
        while !atEnd {
            let before = index
            do throws(SyntaxError) {
                try parseTopLevelItem(into: &config)
            } catch {
                synchronizeTopLevel(from: before)
            }
        }
        return config
    }

    mutating func parseTopLevelItem(into config: inout ConfigFile) throws(SyntaxError) {
        let t = current
        guard t.kind == .identifier else {
            throw fail("expected a global parameter, loadmodule, modparam or a route block, found \(describe(t))")
        }
        switch t.text {
        case "loadmodule":
            let order = index
            advance()
            guard current.kind == .string else { throw fail("expected a quoted module name after loadmodule") }
            config.modules.append(ModuleLoad(path: advance().text, location: t.location, order: order))
        case "loadpath" where current.kind == .identifier && peek().kind == .string,
            "mpath" where peek().kind == .string:
            advance()
            let v = advance()
            config.globals.append(GlobalParameter(name: "mpath", value: [v], location: t.location))
        case "modparam":
            config.moduleParameters.append(try parseModparam())
        case "flags" where !peek().isPunctuation("="), "bool" where !peek().isPunctuation("="):
            config.flags += try parseFlagsDeclaration()
        case "avpflags" where !peek().isPunctuation("="):
            config.avpFlags += try parseFlagsDeclaration()
        case _ where Parser.routeKeywords.contains(t.text):
            config.routes.append(try parseRouteBlock())
        default:
            // A cfg group instance: `group[n].name = value`.
            var name = t.text
            if peek().isPunctuation("["), case .integer(let n) = peek(2).kind, peek(3).isPunctuation("]"),
                peek(4).isPunctuation("."), peek(5).kind == .identifier, peek(6).isPunctuation("=")
            {
                name = "\(t.text)[\(n)].\(peek(5).text)"
                for _ in 0..<5 { advance() }
            }
            guard peek().isPunctuation("=") else {
                throw fail("unknown top-level statement '\(t.text)'")
            }
            advance()
            let eq = advance()
            var value: [Token] = []
            while !atEnd, current.location.line == eq.location.line, current.location.file == eq.location.file,
                !current.isPunctuation(";")
            {
                value.append(advance())
            }
            if current.isPunctuation(";") { advance() }
            guard !value.isEmpty else { throw fail("missing value for '\(t.text)'", at: eq.location) }
            config.globals.append(GlobalParameter(name: name, value: value, location: t.location))
        }
    }

    mutating func parseModparam() throws(SyntaxError) -> ModuleParameterSetting {
        let order = index
        let start = advance()
        try expectPunctuation("(", "after modparam")
        guard current.kind == .string else { throw fail("expected the module name as a string") }
        let module = advance().text
        try expectPunctuation(",", "after the module name")
        guard current.kind == .string else { throw fail("expected the parameter name as a string") }
        let name = advance().text
        try expectPunctuation(",", "after the parameter name")
        let valueToken = current
        let value: ModuleParameterSetting.Value
        switch valueToken.kind {
        case .string:
            var s = advance().text
            while current.kind == .string { s += advance().text }
            value = .string(s)
        case .integer(let v):
            advance()
            value = .int(v)
        case .identifier where Parser.booleanWords[valueToken.text] != nil:
            // `yes`/`no`/`on`/`off`/`true`/`false`/`enable`/`disable` are numbers in Kamailio's lexer.
            advance()
            value = .int(Parser.booleanWords[valueToken.text]!)
        case .punctuation where valueToken.text == "-":
            advance()
            guard case .integer(let v) = current.kind else { throw fail("expected an integer after '-'") }
            advance()
            value = .int(-v)
        default:
            throw fail("expected a string or an integer as the value of modparam \"\(module)\" \"\(name)\"")
        }
        try expectPunctuation(")", "to close modparam")
        if current.isPunctuation(";") { advance() }
        return ModuleParameterSetting(
            module: module, name: name, value: value, location: start.location,
            valueLocation: valueToken.location, order: order)
    }

    mutating func parseRouteBlock() throws(SyntaxError) -> RouteBlock {
        let keyword = advance()
        var name: String? = nil
        if current.isPunctuation("[") {
            let open = advance()
            var parts: [Token] = []
            while !atEnd, !current.isPunctuation("]") { parts.append(advance()) }
            guard current.isPunctuation("]") else {
                throw fail("expected ']' to close the route name", at: open.location)
            }
            name = Parser.routeName(parts)
            advance()
            if name?.isEmpty == true { throw fail("empty route name", at: open.location) }
        }
        let kind: RouteKind
        switch keyword.text {
        case "request_route": kind = .request
        case "route": kind = name.map { $0 == "0" ? .request : .named($0) } ?? .request
        case "failure_route": kind = .failure(try requireName(name, keyword))
        case "branch_route": kind = .branch(try requireName(name, keyword))
        case "onreply_route", "reply_route": kind = .onReply(name == "0" ? nil : name)
        case "onsend_route": kind = .onSend
        default: kind = .event(try requireName(name, keyword))
        }
        let body = try parseBlock()
        return RouteBlock(kind: kind, body: body, location: keyword.location)
    }

    /// `flags NAME[:n], "NAME"[:n], ...` (Kamailio's `flags_decl`; also spelled `bool`).
    mutating func parseFlagsDeclaration() throws(SyntaxError) -> [FlagDeclaration] {
        let keyword = advance()
        var result: [FlagDeclaration] = []
        while true {
            let t = current
            guard t.kind == .identifier || t.kind == .string else {
                throw fail("expected a flag name after '\(keyword.text)', found \(describe(t))")
            }
            advance()
            var position: Int? = nil
            if current.isPunctuation(":") {
                advance()
                guard case .integer(let n) = current.kind else {
                    throw fail("expected a flag number after '\(t.text):', found \(describe(current))")
                }
                advance()
                position = n
            }
            result.append(FlagDeclaration(name: t.text, position: position, location: t.location))
            guard current.isPunctuation(",") else { break }
            advance()
        }
        if current.isPunctuation(";") { advance() }
        return result
    }

    mutating func requireName(_ name: String?, _ keyword: Token) throws(SyntaxError) -> String {
        guard let name else { throw fail("\(keyword.text) needs a name in brackets", at: keyword.location) }
        return name
    }

    /// Skips ahead to something that can start a top-level item.
    mutating func synchronizeTopLevel(from start: Int) {
        if index == start { advance() }
        var depth = 0
        while !atEnd {
            let t = current
            if t.isPunctuation("{") { depth += 1 }
            if t.isPunctuation("}") {
                depth -= 1
                advance()
                if depth <= 0 { return }
                continue
            }
            if depth <= 0, t.kind == .identifier,
                Parser.routeKeywords.contains(t.text) || t.text == "loadmodule" || t.text == "modparam"
                    || t.text == "flags" || peek().isPunctuation("=")
            {
                return
            }
            advance()
        }
    }
}

extension Parser {
    /// The name between a route's brackets: a quoted name's value, else the tokens' raw
    /// texts as written (`core:worker-one-init`), one space where the source had any.
    static func routeName(_ parts: [Token]) -> String {
        if parts.count == 1, parts[0].kind == .string { return parts[0].text }
        var name = ""
        for (i, t) in parts.enumerated() {
            if i > 0, t.spaceBefore { name += " " }
            name += t.raw
        }
        return name
    }
}
