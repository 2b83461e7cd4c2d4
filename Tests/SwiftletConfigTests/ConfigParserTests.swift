import Testing

@testable import SwiftletConfig

@Suite struct ConfigParserTests {
    @Test func lexerProducesTokensWithPositions() {
        var lexer = Lexer(
            text: "listen=udp:127.0.0.1:5060 # c\n  if ($rm == \"A\\tB\") /* x /* nested */ */ { 0x1F; [::1] }",
            file: "t.cfg")
        let tokens = lexer.tokenize()
        #expect(lexer.diagnostics.isEmpty)
        let kinds = tokens.map(\.kind)
        #expect(
            kinds == [
                .identifier, .punctuation, .identifier, .punctuation, .ipv4, .punctuation, .integer(5060),
                .identifier, .punctuation, .pseudoVariable, .punctuation, .string, .punctuation, .punctuation,
                .integer(31),
                .punctuation, .ipv6, .punctuation, .endOfFile,
            ])
        #expect(tokens[4].text == "127.0.0.1")
        #expect(tokens[7].location == SourceLocation(file: "t.cfg", line: 2, column: 3))
        #expect(tokens[9].text == "$rm")
        #expect(tokens[11].text == "A\tB")
        #expect(tokens[16].text == "::1")
    }

    /// Kamailio's lexer reads `0[0-7]+` as octal (`mode` parameters such as `0600`).
    @Test func leadingZeroNumbersAreOctal() {
        var lexer = Lexer(text: "0600 0660 0 10 0x10 010.0.0.1", file: "t")
        let kinds = lexer.tokenize().dropLast().map(\.kind)
        #expect(kinds == [.integer(384), .integer(432), .integer(0), .integer(10), .integer(16), .ipv4])
    }

    @Test func pseudoVariableTokensKeepTheirBrackets() {
        var lexer = Lexer(text: "$hdr(From) $(ru{uri.user}) $avp(x)[1] $var(a)", file: "t")
        #expect(lexer.tokenize().dropLast().map(\.text) == ["$hdr(From)", "$(ru{uri.user})", "$avp(x)[1]", "$var(a)"])
    }

    @Test func stringEscapes() {
        var lexer = Lexer(text: #""a\x41\101\"\\" 'raw\n'"#, file: "t")
        #expect(lexer.tokenize().dropLast().map(\.text) == ["aAA\"\\", "raw\\n"])
    }

    @Test func fileStructureIsParsed() throws {
        let text = """
            #!KAMAILIO
            debug=3
            children = 2;
            listen=udp:127.0.0.1:5070 advertise 192.0.2.1:5060
            loadmodule "sl.so"
            modparam("sl", "default_code", 503)
            modparam("sl|xlog", "x", "a" "b")
            request_route {
                if ($rm == "OPTIONS" && $si != "10.0.0.1") {
                    sl_send_reply("200", "OK");
                    exit;
                } else if (method == "ACK") drop;
                route(R1);
            }
            route[R1] { return 1; }
            onreply_route { ; }
            failure_route[MANAGE_FAILURE] { }
            event_route[core:worker-one-init] { }
            """
        let (config, diagnostics) = Parser.parse(text: text, file: "f.cfg")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(config.globals.map(\.name) == ["debug", "children", "listen"])
        #expect(config.globals[0].intValue == 3)
        #expect(config.globals[1].intValue == 2)
        #expect(
            config.globals[2].value.map(\.text) == [
                "udp", ":", "127.0.0.1", ":", "5070", "advertise", "192.0.2.1", ":", "5060",
            ])
        #expect(config.modules.map(\.path) == ["sl.so"])
        #expect(config.moduleParameters.map(\.value) == [.int(503), .string("ab")])
        #expect(config.moduleParameters[1].module == "sl|xlog")
        #expect(
            config.routes.map(\.kind) == [
                .request, .named("R1"), .onReply(nil), .failure("MANAGE_FAILURE"), .event("core:worker-one-init"),
            ])
        guard case .ifElse(let cond, let then, let otherwise?, _) = config.routes[0].body[0] else {
            Issue.record("expected if/else")
            return
        }
        guard
            case .binary(
                "&&", .binary("==", .pseudoVariable("$rm", _), .string("OPTIONS", _), _), .binary("!=", _, _, _), _) =
                cond
        else {
            Issue.record("wrong condition tree: \(cond)")
            return
        }
        #expect(then.count == 2)
        #expect(otherwise.count == 1)
        guard case .routeCall("R1", _) = config.routes[0].body[1] else {
            Issue.record("expected route(R1)")
            return
        }
    }

    @Test func operatorPrecedence() throws {
        let (config, d) = Parser.parse(text: "route { if (1 + 2 * 3 == 7 || !0 && 5 mod 2) { } }", file: "p")
        #expect(d.isEmpty)
        guard
            case .ifElse(
                .binary(
                    "||", .binary("==", .binary("+", _, .binary("*", _, _, _), _), _, _),
                    .binary("&&", .unary("!", _, _), .binary("mod", _, _, _), _), _), _, _, _) = config.routes[0].body[
                    0]
        else {
            Issue.record("wrong tree")
            return
        }
    }

    /// Every syntax error is reported (not just the first) with its exact line and column.
    @Test func syntaxErrorsCarryPositions() {
        let text = """
            debug=
            request_route {
                if ($rm == "OPTIONS" {
                    exit;
                }
                sl_send_reply("200" "OK")
                xlog("unterminated);
            }
            #!definex X 1
            """
        let (_, diagnostics) = Parser.parse(text: text, file: "e.cfg")
        #expect(
            diagnostics.map(\.description) == [
                "e.cfg:1:6: error: missing value for 'debug'",
                "e.cfg:3:26: error: expected ')' to close the if condition, found '{'",
                "e.cfg:6:30: error: expected ';' after the statement, found 'xlog' (bad command: missing ';'?)",
                "e.cfg:7:10: error: unterminated string",
                "e.cfg:9:1: error: unknown preprocessor directive '#!definex'",
            ])
    }

    @Test func renderedErrorsShowTheLineAndACaret() {
        let error = ConfigError([ConfigDiagnostic("bad", at: SourceLocation(file: "x.cfg", line: 2, column: 3))])
        #expect(error.rendered(sources: ["x.cfg": "a\n\tbc\n"]) == "x.cfg:2:3: error: bad\n     bc\n      ^")
    }
}
