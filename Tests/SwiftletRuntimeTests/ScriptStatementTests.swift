import Foundation
import Testing

@testable import SwiftletConfig
@testable import SwiftletRuntime

/// `switch`, `while`, `break`, `flags` declarations: parsing, errors with their positions,
/// and golden runs of small configurations on messages.
@Suite(.serialized) struct ScriptStatementTests {
    // MARK: parsing

    @Test func switchWhileAndFlagsAreParsed() throws {
        let text = """
            flags FLT_A:3, "FLT_B", FLT_C;
            bool FLT_D:7
            request_route {
                switch ($rm) {
                    case "INVITE":
                    case /"^REG":
                        break;
                    default:
                        exit;
                }
                while ($cs < 3) { break; }
                exit();
                if (msg:len > 10 && src_ip == 10.0.0.0/8 && dst_ip != 192.168.0.0/255.255.0.0) drop();
            }
            """
        let (config, diagnostics) = Parser.parse(text: text, file: "p.cfg")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(config.flags.map(\.name) == ["FLT_A", "FLT_B", "FLT_C", "FLT_D"])
        #expect(config.flags.map(\.position) == [3, nil, nil, 7])
        #expect(config.flags[1].location == SourceLocation(file: "p.cfg", line: 1, column: 16))
        let body = config.routes[0].body
        guard case .switch(.pseudoVariable("$rm", _), let cases, let loc) = body[0] else {
            Issue.record("expected a switch, got \(body[0])")
            return
        }
        #expect(loc == SourceLocation(file: "p.cfg", line: 4, column: 5))
        #expect(cases.count == 3)
        guard case .value(.string("INVITE", _)) = cases[0].label, case .regex(.string("^REG", _)) = cases[1].label,
            case .default = cases[2].label
        else {
            Issue.record("unexpected labels \(cases.map(\.label))")
            return
        }
        #expect(cases[0].body.isEmpty)
        #expect(cases[1].body.count == 1)
        #expect(cases[2].location == SourceLocation(file: "p.cfg", line: 8, column: 9))
        guard case .while(.binary("<", _, .integer(3, _), _), let whileBody, _) = body[1],
            case .break = whileBody[0]
        else {
            Issue.record("expected a while, got \(body[1])")
            return
        }
        guard case .exit(nil, _) = body[2] else {
            Issue.record("expected exit(), got \(body[2])")
            return
        }
        guard case .ifElse(let cond, let then, nil, _) = body[3],
            case .binary("&&", .binary("&&", let len, let src, _), let dst, _) = cond,
            case .drop(nil, _) = then[0]
        else {
            Issue.record("unexpected if \(body[3])")
            return
        }
        guard case .binary(">", .name("msg:len", _), .integer(10, _), _) = len,
            case .binary("==", .name("src_ip", _), .string("10.0.0.0/8", _), _) = src,
            case .binary("!=", .name("dst_ip", _), .string("192.168.0.0/255.255.0.0", _), _) = dst
        else {
            Issue.record("unexpected keyword comparisons \(cond)")
            return
        }
    }

    @Test func switchSyntaxErrorsCarryPositions() {
        let text = """
            request_route {
                switch ($rm) {
                    case "A"
                        exit;
                    case 1: break;
                }
                switch ($rm) {
                    foo: exit;
                    default: break;
                }
            }
            flags 3
            """
        let (_, diagnostics) = Parser.parse(text: text, file: "s.cfg")
        #expect(
            diagnostics.map(\.description) == [
                "s.cfg:4:13: error: expected ':' after the case label, found 'exit'",
                "s.cfg:8:9: error: expected 'case' or 'default' in the switch body, found 'foo'",
                "s.cfg:12:7: error: expected a flag name after 'flags', found '3'",
            ])
    }

    // MARK: compile errors

    @Test func switchLabelErrorsCarryPositions() {
        let errors = ScriptHarness.errors(
            ScriptHarness.prelude + """
                request_route {
                    switch ($rm) {
                        case 1: break;
                        case "two": break;
                        case $ru: break;
                        default: break;
                        case 1: break;
                        default: exit;
                        case /"(": break;
                    }
                }
                """, file: "sw.cfg")
        #expect(
            errors == [
                "sw.cfg:9:14: error: mixed integer and string/regex case labels are not allowed in a switch (first label at sw.cfg:8:14)",
                "sw.cfg:10:14: error: non constant expression in case label",
                "sw.cfg:12:14: error: duplicate case label 1 (first at sw.cfg:8:14)",
                "sw.cfg:13:9: error: more than one 'default' label in switch (first at sw.cfg:11:9)",
                "sw.cfg:14:15: error: mixed integer and string/regex case labels are not allowed in a switch (first label at sw.cfg:8:14)",
            ])
        let strings = ScriptHarness.errors(
            ScriptHarness.prelude + """
                request_route {
                    switch ($rm) {
                        case "a": break;
                        case /"b": break;
                        case "a" : break;
                        case /"(": break;
                    }
                }
                """, file: "sw2.cfg")
        #expect(
            strings == [
                "sw2.cfg:10:14: error: duplicate case label \"a\" (first at sw2.cfg:8:14)",
                "sw2.cfg:11:15: error: bad regular expression \"(\" in case label",
            ])
    }

    @Test func flagDeclarationErrors() {
        let errors = ScriptHarness.errors(
            ScriptHarness.prelude + """
                flags A:1, A:2, B:40
                request_route {
                    setflag(A);
                    setflag(NOPE);
                    isflagset(32);
                    resetflag($rm);
                }
                """, file: "fl.cfg")
        #expect(
            errors == [
                "fl.cfg:6:12: error: flag 'A' is declared twice",
                "fl.cfg:6:17: error: invalid position 40 of flag 'B' (flags are 0-31)",
                "fl.cfg:9:13: error: flag 'NOPE' is not declared (declare it with 'flags NOPE:N')",
                "fl.cfg:10:15: error: bad flag value 32 in isflagset() (flags are 0-31)",
                "fl.cfg:11:15: error: resetflag() takes a flag number or a flag name",
            ])
    }

    // MARK: golden runs

    /// `switch ($cs)` with integer labels, on CSeq numbers 1 to 4 and 9.
    @Test(arguments: [(1, [1, 2, 3]), (2, [2, 3]), (3, [3]), (4, [4, 10]), (9, [10])])
    func integerSwitchFallsThroughUntilBreak(cseq: Int, flags: [Int]) throws {
        let config = """
            request_route {
                switch ($cs) {
                    case 1:
                        setflag(1);
                    case 2:
                        setflag(2);
                    case 0x3:
                        setflag(3);
                        break;
                    case 2 + 2:
                        setflag(4);
                    default:
                        setflag(10);
                }
                sl_send_reply("200", "after switch");
            }
            """
        let (ctx, replies) = try ScriptHarness.run(config, ScriptHarness.request(cseq: cseq))
        #expect(ScriptHarness.flags(ctx) == flags)
        #expect(replies.statusLines == ["SIP/2.0 200 after switch"])
    }

    /// Constant expressions in function parameters are folded at start-up, as Kamailio does:
    /// a `#!define`d string joined with `+`, a string and an integer, integer arithmetic.
    @Test func constantParameterExpressionsAreFolded() throws {
        let config = """
            #!define GREETING "hello"
            request_route {
                sl_send_reply("2" + "00", "g=" + GREETING + " " + 4 + (2 * 3 - 1));
            }
            """
        let (_, replies) = try ScriptHarness.run(config)
        #expect(replies.statusLines == ["SIP/2.0 200 g=hello 45"])
        let errors = ScriptHarness.errors(
            ScriptHarness.prelude + "request_route {\n    sl_send_reply(\"200\", \"a\" + $ru);\n}\n")
        #expect(
            errors == [
                "bad.cfg:7:30: error: arguments of 'sl_send_reply' must be strings, integers or pseudo-variables"
            ])
    }

    /// String and regex labels compare case-sensitively, in label order; a default in the
    /// middle falls through into the next case.
    @Test(arguments: [
        ("abc", [1]), ("ABC", [3, 4]), ("sipp 3.6", [2]), ("SIPP", [3, 4]), ("xyz", [4]), ("abcd", [3, 4]),
    ])
    func stringAndRegexSwitch(userAgent: String, flags: [Int]) throws {
        let config = """
            request_route {
                switch ($ua) {
                    case "abc":
                        setflag(1);
                        break;
                    case /"^sip[a-z]+":
                        setflag(2);
                        break;
                    default:
                        setflag(3);
                    case "xyz":
                        setflag(4);
                }
                exit;
            }
            """
        let (ctx, _) = try ScriptHarness.run(config, ScriptHarness.request(userAgent: userAgent))
        #expect(ScriptHarness.flags(ctx) == flags)
    }

    @Test func switchSubjectThatIsNotANumberRunsDefault() throws {
        let config = """
            request_route {
                switch ($ua) { case 0: setflag(1); break; default: setflag(2); }
                switch ($rm) { case 1: setflag(3); }
                switch ($cs) { }
                switch ($cs) { default: setflag(4); }
            }
            """
        let (ctx, _) = try ScriptHarness.run(config, ScriptHarness.request(userAgent: "abc"))
        #expect(ScriptHarness.flags(ctx) == [2, 4])
    }

    @Test func exitAndReturnLeaveASwitch() throws {
        let config = """
            request_route {
                route(R);
                if ($rc == 5) setflag(2);
                switch ($cs) { case 1: setflag(3); exit; }
                setflag(4);
            }
            route[R] {
                switch ($cs) { case 1: return 5; }
                setflag(1);
            }
            """
        let (ctx, _) = try ScriptHarness.run(config)
        #expect(ScriptHarness.flags(ctx) == [2, 3])
    }

    /// The loop condition changes through the R-URI: `prefix` adds an `x` per iteration.
    @Test func whileLoopsUntilItsConditionIsFalse() throws {
        let config = """
            request_route {
                while (!(uri =~ "^sip:xxx")) {
                    prefix("x");
                }
                while (0) { setflag(1); }
                while (1) {
                    setflag(2);
                    switch ($cs) { case 1: break; }
                    setflag(3);
                    break;
                    setflag(4);
                }
                setflag(5);
            }
            """
        let (ctx, _) = try ScriptHarness.run(config)
        #expect(ctx.newRequestURI == "sip:xxxalice@example.com")
        #expect(ScriptHarness.flags(ctx) == [2, 3, 5])
    }

    /// A runaway loop stops after max_while_loops iterations and the script goes on after
    /// it; a negative condition counts as true (Kamailio tests the value against 0).
    @Test func maxWhileLoopsBoundsALoop() throws {
        let config = """
            max_while_loops=3
            request_route {
                while (-1) { prefix("y"); }
                setflag(1);
            }
            """
        let (ctx, _) = try ScriptHarness.run(config)
        #expect(ctx.newRequestURI == "sip:yyyalice@example.com")
        #expect(ScriptHarness.flags(ctx) == [1])
    }

    @Test func returnInAWhileLeavesTheRoute() throws {
        let config = """
            request_route {
                route(LOOP);
                if ($rc == 7) setflag(1);
            }
            route[LOOP] {
                while (1) { prefix("z"); if (uri =~ "^sip:zz") return 7; }
                setflag(2);
            }
            """
        let (ctx, _) = try ScriptHarness.run(config)
        #expect(ctx.newRequestURI == "sip:zzalice@example.com")
        #expect(ScriptHarness.flags(ctx) == [1])
    }

    @Test func namedFlagsTakeDeclaredOrFirstFreePositions() throws {
        let config = """
            flags FLT_X:4, FLT_Y, "FLT_Z", FLT_W:0
            request_route {
                setflag(FLT_X);
                setflag(FLT_Y);
                setflag("FLT_Z");
                setflag(9);
                resetflag(9);
                setflag(31);
                if (isflagset(FLT_X) && !isflagset(FLT_W)) sl_send_reply("200", "named flags");
            }
            """
        let (ctx, replies) = try ScriptHarness.run(config)
        // FLT_Y takes 0 and FLT_Z 1 (first free); FLT_W:0 shares flag 0 with FLT_Y (a warning).
        #expect(ScriptHarness.flags(ctx) == [0, 1, 4, 31])
        #expect(replies.statusLines.isEmpty)
    }
}
