import Foundation
import SwiftletSDK
import Testing

@testable import SwiftletConfig
@testable import SwiftletRuntime

/// Preprocesses `text` as `file`, with included files served from `files` and `#!defenv`
/// from `environment`.
private func preprocess(
    _ text: String, file: String = "main.cfg", files: [String: String] = [:], defines: [PreprocessorDefine] = [],
    environment: [String: String] = [:]
) -> PreprocessedConfig {
    Preprocessor.preprocess(
        text: text, file: file, defines: defines, readFile: { files[$0] }, environment: { environment[$0] })
}

extension PreprocessedConfig {
    /// The tokens as written, end of file left out.
    fileprivate var raw: [String] { tokens.dropLast().map(\.raw) }
    fileprivate var errors: [String] { diagnostics.map(\.description) }
}

@Suite struct PreprocessorTests {
    // MARK: defines

    /// The tokens of a value carry the place of the name they replace (and its length, so a
    /// missing ';' after it is reported after the name); names inside strings are left alone.
    @Test func definesAreSubstitutedAtTheirUseSite() throws {
        let text = """
            #!define CODE 404
            #!define REASON "Not" \\
                "Here"
            #!define EMPTY
            request_route { sl_send_reply(CODE, REASON) EMPTY; xlog("CODE"); }
            """
        let p = preprocess(text)
        #expect(p.errors == [])
        #expect(
            p.raw == [
                "request_route", "{", "sl_send_reply", "(", "404", ",", "\"Not\"", "\"Here\"", ")", ";", "xlog", "(",
                "\"CODE\"", ")", ";", "}",
            ])
        let code = p.tokens[4]
        #expect(code.kind == .integer(404))
        #expect(code.location == SourceLocation(file: "main.cfg", line: 5, column: 31))
        #expect(code.range.count == 4)
        #expect(p.tokens[6].location == SourceLocation(file: "main.cfg", line: 5, column: 37))
        #expect(p.tokens[7].location == SourceLocation(file: "main.cfg", line: 5, column: 37))
        #expect(p.tokens[12].text == "CODE")
        let (config, syntax) = Parser.parse(tokens: p.tokens)
        #expect(syntax.isEmpty)
        guard case .expression(.call("sl_send_reply", let args, _)) = config.routes[0].body[0],
            case .integer(404, _) = args[0], case .string("NotHere", _) = args[1]
        else {
            Issue.record("wrong call: \(config.routes[0].body)")
            return
        }
        // A missing ';' after a substituted name is reported right after the name.
        let (_, d) = Parser.parse(text: "#!define ONE 1\nroute { exit ONE }", file: "m.cfg")
        #expect(
            d.map(\.description) == [
                "m.cfg:2:17: error: expected ';' after exit, found '}' (bad command: missing ';'?)"
            ])
    }

    /// Values are looked up when used (as Kamailio re-reads them), so a define may use one
    /// defined after it; `-A` defines come first.
    @Test func valuesAreExpandedWhenUsedAndCommandLineDefinesCount() {
        let text = """
            #!define A B + 1
            #!define B 2
            x = A
            y = PORT NAT
            """
        let p = preprocess(
            text, defines: [PreprocessorDefine(argument: "PORT=5080")!, PreprocessorDefine(name: "NAT")])
        #expect(p.errors == [])
        #expect(p.raw == ["x", "=", "2", "+", "1", "y", "=", "5080"])
        #expect(p.tokens[2...4].allSatisfy { $0.location == SourceLocation(file: "main.cfg", line: 3, column: 5) })
        #expect(PreprocessorDefine(argument: "A-B=1") == nil)
        #expect(PreprocessorDefine(argument: "X=") == PreprocessorDefine(name: "X", value: ""))
    }

    @Test func trydefAndRedefine() {
        let text = """
            #!define X 1
            #!trydef X 2
            #!trydef Y 3
            #!redefine X 4
            #!redef Z 5
            #!trydefine W 6
            #!def V 7
            a = X Y Z W V
            """
        let p = preprocess(text)
        #expect(p.errors == [])
        #expect(p.raw == ["a", "=", "4", "3", "5", "6", "7"])
    }

    // MARK: conditionals

    /// Skipped text is not lexed (an unterminated string there is no error), nested
    /// conditionals inside it are still counted, and `!!` works like `#!`.
    @Test func ifdefIfndefElseEndifNest() {
        let text = """
            #!ifdef A
            a = 1
            #!ifndef B
            b = 1
            #!else
            b = "unterminated
            #!endif
            #!else
            a = 2
            #!ifdef A
            never = 1
            #!endif
            #!endif // trailing comments are allowed
            !!ifndef A
            c = 1
            !!endif
            """
        let withA = preprocess(text, defines: [PreprocessorDefine(name: "A")])
        #expect(withA.errors == [])
        #expect(withA.raw == ["a", "=", "1", "b", "=", "1"])
        let withoutA = preprocess(text)
        #expect(withoutA.errors == [])
        #expect(withoutA.raw == ["a", "=", "2", "c", "=", "1"])
        #expect(withoutA.tokens[3].location == SourceLocation(file: "main.cfg", line: 15, column: 1))
    }

    /// Compatibility markers are ignored, `#!` counts anywhere on a line, `!!` only where
    /// the line starts (elsewhere it is two `!`).
    @Test func markersAndPrefixes() {
        let text = """
            #!KAMAILIO
            #!SWIFTLET
            #!OPENSER
            #!SER
            #!MAXCOMPAT
            #!ALL
            !!define X 1
            a = X #!define Y 2
            b = !!Y
            """
        let p = preprocess(text)
        #expect(p.errors == [])
        #expect(p.raw == ["a", "=", "1", "b", "=", "!", "!", "2"])
    }

    /// Each `loadmodule` defines `MOD_<name>` from the file name, as Kamailio does: the
    /// define exists only after the line (checked with `kamailio --cfg-print`, which prints
    /// only `after` for the first two blocks).
    @Test func loadmoduleDefinesModName() {
        let text = """
            #!ifdef MOD_sl
            before = 1
            #!endif
            loadmodule "sl.so"
            loadmodule "/usr/lib/swiftlet/modules/xlog.so"
            loadmodule "tm"
            #!ifdef MOD_sl
            after = 1
            #!endif
            #!ifdef MOD_xlog
            xlog = 1
            #!endif
            #!ifdef MOD_tm
            tm = 1
            #!endif
            """
        let p = preprocess(text)
        #expect(p.errors == [])
        #expect(
            p.raw == [
                "loadmodule", "\"sl.so\"", "loadmodule", "\"/usr/lib/swiftlet/modules/xlog.so\"", "loadmodule",
                "\"tm\"", "after", "=", "1", "xlog", "=", "1", "tm", "=", "1",
            ])
    }

    // MARK: subst

    /// Rules rewrite the strings (and pseudo-variables) after them, in order, never names.
    /// Checked against kamailio 5.6.3: `#!subst "/(c+)d/<\\1>/"` turns "ccd" into "<cc>", and
    /// `\.` and `\1` in a double-quoted string stay as written.
    @Test func substRewritesStrings() {
        let text = #"""
            a = "foo"
            #!subst "/foo/bar/g"
            #!subst "/^(c+)d/<\\1>/i"
            #!subst "/a\.b/X\1Y/"
            b = "foo foo" "CCd ccd" $var(foo) foo "a.b azb"
            """#
        let p = preprocess(text)
        #expect(p.errors == [])
        #expect(
            p.tokens.dropLast().map(\.text) == [
                "a", "=", "foo", "b", "=", "bar bar", "<CC> ccd", "$var(bar)", "foo", "XY azb",
            ])
        #expect(p.tokens[5].raw == "\"bar bar\"")
        #expect(p.tokens[5].location == SourceLocation(file: "main.cfg", line: 5, column: 5))
    }

    /// As Kamailio's lexer, a backslash before anything but a known escape is kept, and an
    /// octal escape needs two or three digits (kamailio 5.6.3 logs `a\qb\1c|A|A` for
    /// `"a\qb\1c|\101|\x41"`), so `#!subst` regexes keep their `\.` and `\1`.
    @Test func unknownStringEscapesKeepTheBackslash() {
        var lexer = Lexer(text: #""a\qb\1c|\101|\x41|\x|\"" 'a\q'"#, file: "t")
        #expect(lexer.tokenize().dropLast().map(\.text) == [#"a\qb\1c|A|A|\x|""#, #"a\q"#])
    }

    /// `#!substdef` defines the name and rewrites it in strings; `#!substdefs` quotes the
    /// define's value (kamailio 5.6.3: `NUM + 2` with `"/NUM/1/"` is 3).
    @Test func substdefAndSubstdefs() {
        let text = """
            #!substdef "/NUM/1/"
            #!substdefs "/WORDS/two words/"
            a = NUM + 2
            b = WORDS "x WORDS NUM"
            """
        let p = preprocess(text)
        #expect(p.errors == [])
        #expect(p.tokens.dropLast().map(\.text) == ["a", "=", "1", "+", "2", "b", "=", "two words", "x two words 1"])
        #expect(p.tokens[7].kind == .string)
    }

    /// The rules rewrite the string of a later rule too: with kamailio 5.6.3 this logs
    /// "x two SD" (the second rule became `/oneS/two/`).
    @Test func substRulesRewriteLaterRules() {
        let p = preprocess("#!subst \"/SD/one/\"\n#!subst \"/SDS/two/\"\nx = \"x SDS SD\"\n")
        #expect(p.tokens.dropLast().map(\.text) == ["x", "=", "x two SD"])
    }

    @Test func defenvFamily() {
        let text = """
            #!defenv HOME_DIR=HOME
            #!defenv USER
            #!defenvs QUOTED=WORDS
            #!trydefenv MISSING=NOT_SET
            #!trydefenvs ALSO_MISSING
            a = HOME_DIR USER QUOTED
            #!ifdef MISSING
            never = 1
            #!endif
            """
        let p = preprocess(text, environment: ["HOME": "/root", "USER": "alice", "WORDS": #"two "words""#])
        #expect(p.errors == [])
        #expect(p.tokens.dropLast().map(\.text) == ["a", "=", "/", "root", "alice", #"two "words""#])
        #expect(p.tokens[5].kind == .string)
    }

    // MARK: include files

    /// Included tokens carry their own file's positions; a relative path is tried as given,
    /// then next to the including file (so `b.cfg` is found in `conf/inc/`); a missing
    /// `import_file` is skipped. Every file read is in `sources`.
    @Test func includeAndImportFiles() {
        let files = [
            "conf/inc/a.cfg": "#!define FROM_A 7\nroute[A] {\n    #!include_file \"b.cfg\"\n}\n",
            "conf/inc/b.cfg": "exit;\n",
        ]
        let main = """
            include_file "inc/a.cfg"
            import_file "inc/none.cfg"
            request_route { x = FROM_A; }
            """
        let p = preprocess(main, file: "conf/main.cfg", files: files)
        #expect(p.errors == [])
        #expect(
            p.raw == ["route", "[", "A", "]", "{", "exit", ";", "}", "request_route", "{", "x", "=", "7", ";", "}"])
        #expect(p.tokens[0].location == SourceLocation(file: "conf/inc/a.cfg", line: 2, column: 1))
        #expect(p.tokens[5].location == SourceLocation(file: "conf/inc/b.cfg", line: 1, column: 1))
        #expect(p.tokens[8].location == SourceLocation(file: "conf/main.cfg", line: 3, column: 1))
        #expect(p.tokens.last?.location.file == "conf/main.cfg")
        #expect(Set(p.sources.keys) == ["conf/main.cfg", "conf/inc/a.cfg", "conf/inc/b.cfg"])
    }

    /// Includes nest at most 10 deep: f0 includes f1 ... f10 are read, f10's include fails
    /// (kamailio 5.6.3 stops at the same file: "too many includes").
    @Test func includesNestAtMostTenDeep() {
        var files: [String: String] = [:]
        for i in 1...11 { files["f\(i).cfg"] = "a\(i) = 1\ninclude_file \"f\(i + 1).cfg\"\n" }
        let p = preprocess("include_file \"f1.cfg\"\n", file: "f0.cfg", files: files)
        #expect(p.errors == ["f10.cfg:2:1: error: too many nested include files (at most 10)"])
        #expect(p.raw.filter { $0.hasPrefix("a") } == (1...10).map { "a\($0)" })
    }

    /// From disk: the path is tried from the current directory, then from the including
    /// file's directory, at each level.
    @Test func includeFilesFromDisk() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path + "/sub", withIntermediateDirectories: true)
        _ = dir.write("sub/a.cfg", "route[A] { exit; }\ninclude_file \"b.cfg\"\n")
        _ = dir.write("sub/b.cfg", "route[B] { exit; }\n")
        let main = dir.write("main.cfg", "include_file \"sub/a.cfg\"\n")
        let (config, d) = Parser.parse(text: "include_file \"sub/a.cfg\"\n", file: main)
        #expect(d.isEmpty, "\(d)")
        #expect(config.routes.map(\.kind) == [.named("A"), .named("B")])
        #expect(config.routes[1].location == SourceLocation(file: dir.path + "/sub/b.cfg", line: 1, column: 1))
    }

    // MARK: errors

    /// Every preprocessor error, at its exact position.
    @Test func errorsCarryTheirPositions() {
        let text = """
            #!define A-B 1
            #!define X 1
            #!define X 2
            #!foo
            #!else
            #!endif
            include_file "missing.cfg"
            #!subst "/a(/b/"
            #!subst "/a/b/x"
            #!defenv NOT_SET
            #!define R R
            debug=R
            #!ifdef Y junk
            #!endif
            #!define
            include_file x
            #!ifndef Z
            a = 1
            #!else
            #!else
            #!endif
            #!ifdef OPEN
            """
        let p = preprocess(text, defines: [PreprocessorDefine(name: "PORT")])
        #expect(
            p.errors.sorted()
                == [
                    "main.cfg:1:10: error: invalid define name 'A-B': '-' is not allowed",
                    "main.cfg:3:10: error: 'X' is already defined (at main.cfg:2:10)",
                    "main.cfg:4:1: error: unknown preprocessor directive '#!foo'",
                    "main.cfg:5:1: error: '#!else' without '#!ifdef'",
                    "main.cfg:6:1: error: '#!endif' without '#!ifdef'",
                    "main.cfg:7:14: error: cannot open included file \"missing.cfg\" (tried missing.cfg)",
                    "main.cfg:8:9: error: invalid '#!subst' expression \"/a(/b/\": bad regular expression 'a('",
                    "main.cfg:9:9: error: invalid '#!subst' expression \"/a/b/x\": unknown flag 'x'",
                    "main.cfg:10:10: error: environment variable 'NOT_SET' is not set",
                    "main.cfg:12:7: error: define 'R' expands to itself",
                    "main.cfg:13:11: error: unexpected 'junk' after '#!ifdef Y'",
                    "main.cfg:15:9: error: missing name after '#!define'",
                    "main.cfg:16:1: error: expected a quoted file name after 'include_file'",
                    "main.cfg:20:1: error: second '#!else' for the '#!ifndef' at main.cfg:17:1",
                    "main.cfg:22:1: error: missing '#!endif' for this '#!ifdef' (different number of preprocessor directives: 1 more #!if[n]def as #!endif)",
                ].sorted())
        let redefined = preprocess("#!define PORT 1\n", defines: [PreprocessorDefine(name: "PORT")])
        #expect(redefined.errors == ["main.cfg:1:10: error: 'PORT' is already defined (at <command line>:1:1)"])
        let empty = preprocess("#!ifdef\n#!endif\n")
        #expect(empty.errors == ["main.cfg:1:8: error: missing name after '#!ifdef'"])
    }

    // MARK: parser and route names

    /// Route names are rebuilt from their tokens (they may come from several files or from a
    /// define), keeping `-` and `:` joined as written.
    @Test func routeNamesAreRebuiltFromTokens() {
        let text = """
            #!define NAME relay-out
            route[NAME] { exit; }
            route["quoted name"] { exit; }
            route[ spaced  words ] { exit; }
            event_route[core:worker-one-init] { exit; }
            """
        let (config, d) = Parser.parse(text: text, file: "r.cfg")
        #expect(d.isEmpty, "\(d)")
        #expect(
            config.routes.map(\.kind) == [
                .named("relay-out"), .named("quoted name"), .named("spaced words"), .event("core:worker-one-init"),
            ])
    }

    /// The text printed by `--cfg-print`: tokens at their columns, defines substituted,
    /// directives and comments gone, one blank line for a run of removed lines.
    @Test func printedTextOfTheTokens() {
        let text = """
            #!define CODE 200
            #!define REPLY sl_send_reply(CODE, "OK")
            loadmodule "sl.so"   # the module

            request_route {
            #!ifdef NOPE
                drop;
            #!endif
                REPLY;  if ($rm=="X") exit;
            }
            """
        let p = preprocess(text)
        #expect(
            p.text == """
                loadmodule "sl.so"

                request_route {

                    sl_send_reply(200, "OK");  if ($rm=="X") exit;
                }

                """)
    }

    // MARK: command line

    @Test func commandLineDefines() throws {
        let o = try CommandLineOptions.parse(["-A", "WITH_NAT", "-APORT=5080", "--cfg-print", "-f", "x.cfg"])
        #expect(o.defines == [PreprocessorDefine(name: "WITH_NAT"), PreprocessorDefine(name: "PORT", value: "5080")])
        #expect(o.printConfig)
        #expect(throws: RuntimeError.self) { try CommandLineOptions.parse(["-A", "X", "-A", "X=1"]) }
        #expect(throws: RuntimeError.self) { try CommandLineOptions.parse(["-A", "A-B"]) }
        #expect(CommandLineOptions.help.contains("-A define"))
        #expect(CommandLineOptions.help.contains("--cfg-print"))
    }

    /// `-A` through the binary: `--cfg-print` shows the chosen branch and the value.
    @Test func cfgPrintWithCommandLineDefines() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write(
            "p.cfg",
            """
            #!KAMAILIO
            #!ifdef WITH_DEBUG
            debug=3
            #!else
            debug=1
            #!endif
            listen=udp:127.0.0.1:PORT
            """)
        let r = try runSwiftlet(["--cfg-print", "-A", "WITH_DEBUG", "-A", "PORT=5077", "-f", cfg])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "debug=3\n\nlisten=udp:127.0.0.1:5077\n")
        let bad = try runSwiftlet(["--cfg-print", "-f", cfg + ".none"])
        #expect(bad.status == 1)
        #expect(bad.stderr.hasPrefix("swiftlet: cannot read config file \(cfg).none"))
    }

    /// `-A` through the loader and a running server: the reply code and reason come from
    /// defines given on the command line.
    @Test func commandLineDefinesReachTheScript() throws {
        let config = """
            listen=udp:127.0.0.1:PORT
            children=1
            loadmodule "sl.so"
            #!ifdef MOD_sl
            request_route { sl_send_reply(CODE, REASON); }
            #!endif
            """
        let server = try TestServer(config: config, extraArguments: ["-A", "CODE=486", "-A", "REASON=\"Busy Here\""])
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: server.port)
        let reply = try #require(client.receive(), "no reply; log: \(server.log)")
        #expect(replyLines(reply)[0] == "SIP/2.0 486 Busy Here")
    }

    /// An error in an included file is reported with that file's name and line, and its
    /// source line is printed under it.
    @Test func errorsInIncludedFilesShowTheirSourceLine() throws {
        let dir = TemporaryDirectory()
        _ = dir.write("routes.cfg", "route[R] {\n    sl_send_reply(\"200\", \"OK\")\n}\n")
        let cfg = dir.write(
            "main.cfg", "loadmodule \"sl.so\"\ninclude_file \"routes.cfg\"\nrequest_route { route(R); }\n")
        let r = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory])
        #expect(r.status == 1)
        #expect(
            r.stderr.hasPrefix(
                "\(dir.path)/routes.cfg:2:31: error: expected ';' after the statement, found '}' (bad command: missing ';'?)\n"
                    + "        sl_send_reply(\"200\", \"OK\")\n" + String(repeating: " ", count: 4 + 30) + "^\n"),
            "\(r.stderr)")
    }
}
