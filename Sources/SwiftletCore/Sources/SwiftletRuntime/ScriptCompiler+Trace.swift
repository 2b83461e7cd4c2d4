import SwiftletSDK

/// The action tracer's checks (Kamailio's `SREV_CFG_RUN_ACTION` event, which the debugger's
/// cfgtrace uses): compiled in only when a module provides a `ScriptActionTracer`, one call
/// before each action, with the action described as Kamailio's `struct action` (type number
/// and name as `debugger_act.c` prints them).
extension ScriptCompiler {
    /// Kamailio's `rname` of a routing block: its name, `DEFAULT_ROUTE` for unnamed ones.
    static func traceName(of kind: RouteKind) -> String {
        switch kind {
        case .named(let n), .failure(let n), .branch(let n), .event(let n), .onReply(let n?): n
        case .request, .onReply(nil), .onSend: "DEFAULT_ROUTE"
        }
    }

    /// `compiled` preceded by the tracer's call, for a statement that is an action of its
    /// own (a function call statement is traced by `compileCall`).
    func traced(_ statement: Statement, _ compiled: @escaping CompiledStatement, _ tracer: ScriptActionTracer)
        -> CompiledStatement
    {
        let described: (type: Int, name: String, location: SourceLocation)
        switch statement {
        case .expression(.call), .block: return compiled
        case .expression(let e): described = (19, "eval", e.location)
        case .ifElse(_, _, _, let loc): described = (16, "if", loc)
        case .exit(_, let loc): described = (2, "exit", loc)
        case .drop(_, let loc): described = (2, "drop", loc)
        case .return(_, let loc): described = (2, "return", loc)
        case .break(let loc): described = (2, "exit", loc)
        case .routeCall(_, let loc): described = (5, "route", loc)
        case .assignment(_, let op, _, let loc): described = op == "+=" ? (64, "add", loc) : (63, "assign", loc)
        case .switch(_, let cases, let loc):
            // Integer labels make a jump table (SWITCH_JT_T), string and regex ones MATCH_COND_T.
            var isInt = true
            for c in cases {
                switch c.label {
                case .value(let e):
                    if case .int? = constantValue(e) {} else { isInt = false }
                case .regex: isInt = false
                case .default: break
                }
            }
            described = isInt ? (20, "switch", loc) : (22, "case", loc)
        case .while(_, _, let loc): described = (23, "while", loc)
        }
        let info = ScriptActionInfo(
            route: traceRouteName, file: described.location.file, line: described.location.line, type: described.type,
            name: described.name)
        return { ctx in
            tracer.actionWillRun(info, ctx)
            return compiled(ctx)
        }
    }

    /// `action` preceded by the tracer's call, for a function call (a statement or inside an
    /// expression: Kamailio runs both as actions).
    func traced(
        call name: String, _ args: [Expression], _ loc: SourceLocation, _ action: @escaping ScriptAction,
        _ tracer: ScriptActionTracer
    ) -> ScriptAction {
        let type: Int
        var printed = name
        if name == "route" {
            type = 5
        } else if CoreActions.table[name] != nil, let core = ScriptCompiler.coreActionTypes[name] {
            (type, printed) = core
        } else {
            // MODULEn_T with string/integer parameters, MODULEn_RVE_T with expressions.
            let plain = args.allSatisfy {
                switch $0 {
                case .string, .integer, .name: true
                default: false
                }
            }
            let n = args.count
            type = n > 6 ? (plain ? 31 : 38) : (plain || n == 0 ? 24 + n : 31 + n)
        }
        let info = ScriptActionInfo(route: traceRouteName, file: loc.file, line: loc.line, type: type, name: printed)
        return { ctx in
            tracer.actionWillRun(info, ctx)
            return action(ctx)
        }
    }

    /// Core actions with an action type of their own in Kamailio (`enum action_type`) and the
    /// name `debugger_act.c` gives them; the other core functions are module functions there.
    static let coreActionTypes: [String: (Int, String)] = {
        var t: [String: (Int, String)] = [
            "forward": (1, "forward"), "log": (3, "log"), "error": (4, "error"), "exec": (6, "exec"),
            "userphone": (15, "setuserphone"), "setflag": (39, "setflag"), "resetflag": (40, "resetflag"),
            "isflagset": (41, "isflagset"), "setavpflag": (42, "avpflag"), "resetavpflag": (42, "avpflag"),
            "isavpflagset": (42, "avpflag"), "len_gt": (43, "lengt"), "prefix": (44, "prefix"),
            "strip": (45, "strip"), "strip_tail": (46, "striptail"), "append_branch": (47, "append_branch"),
            "remove_branch": (48, "unknown"), "clear_branches": (49, "unknown"), "revert_uri": (50, "reverturi"),
            "forward_tcp": (51, "forward_tcp"), "forward_udp": (52, "forward_udp"), "forward_tls": (53, "forward_tls"),
            "forward_sctp": (54, "forward_sctp"), "force_rport": (55, "force_rport"), "add_rport": (55, "force_rport"),
            "add_local_rport": (56, "add_local_rport"), "set_advertised_address": (57, "set_adv_addr"),
            "set_advertised_port": (58, "set_adv_port"), "force_tcp_alias": (59, "force_tcp_alias"),
            "add_tcp_alias": (59, "force_tcp_alias"), "force_send_socket": (62, "force_send_socket"),
            "set_send_socket": (62, "force_send_socket"), "udp_mtu_try_proto": (65, "udp_mtu_try_proto"),
            "set_forward_no_connect": (66, "set_fwd_no_connect"), "set_reply_no_connect": (67, "set_rpl_no_connect"),
            "set_forward_close": (68, "set_fwd_close"), "set_reply_close": (69, "set_rpl_close"),
        ]
        for n in ["rewritehost", "sethost", "seth"] { t[n] = (7, "sethost") }
        for n in ["rewritehostport", "sethostport", "sethp"] { t[n] = (8, "sethostport") }
        for n in ["rewriteuser", "setuser", "setu"] { t[n] = (9, "setuser") }
        for n in ["rewriteuserpass", "setuserpass", "setup"] { t[n] = (10, "setuserpass") }
        for n in ["rewriteport", "setport", "setp"] { t[n] = (11, "setport") }
        for n in ["rewriteuri", "seturi"] { t[n] = (12, "seturi") }
        for n in ["rewritehostporttrans", "sethostporttrans", "sethpt"] { t[n] = (13, "sethostporttrans") }
        for n in ["rewritehostall", "sethostall"] { t[n] = (14, "sethostall") }
        return t
    }()
}
