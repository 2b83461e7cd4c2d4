import SwiftletSDK

/// The core actions of Kamailio's configuration language (grammar keywords in `cfg.y`, run
/// by `action.c`), resolved by the compiler before module functions.
enum CoreActions {
    struct Info {
        let parameters: ClosedRange<Int>
        /// Allowed in `onsend_route` (Kamailio's filtered command list).
        let onSend: Bool
        /// May be written without parentheses (`force_rport;`).
        let bare: Bool
        init(_ parameters: ClosedRange<Int>, onSend: Bool = false, bare: Bool = false) {
            self.parameters = parameters
            self.onSend = onSend
            self.bare = bare
        }
    }

    static let table: [String: Info] = {
        var t: [String: Info] = [
            "setflag": Info(1...1, onSend: true), "resetflag": Info(1...1, onSend: true),
            "isflagset": Info(1...1, onSend: true), "log": Info(1...2, onSend: true), "error": Info(2...2),
            "revert_uri": Info(0...0, bare: true), "prefix": Info(1...1), "strip": Info(1...1),
            "strip_tail": Info(1...1), "force_rport": Info(0...0, bare: true), "add_rport": Info(0...0, bare: true),
        ]
        t["userphone"] = Info(0...0)
        for n in [
            "rewriteuri", "seturi", "rewritehost", "sethost", "seth", "rewritehostport", "sethostport", "sethp",
            "rewriteuser", "setuser", "setu", "rewriteuserpass", "setup", "rewriteport", "setport", "setp",
            "rewritehostporttrans", "sethostporttrans", "sethpt",
        ] {
            t[n] = Info(1...1)
        }
        for n in ["set_forward_no_connect", "set_reply_no_connect", "set_forward_close", "set_reply_close"] {
            t[n] = Info(0...0, onSend: true)
        }
        t.merge(ForwardingActions.table) { a, _ in a }
        t.merge(AVPFlagActions.table) { a, _ in a }
        t.merge(CfgGroupActions.table) { a, _ in a }
        return t
    }()

    /// Kamailio 5.6 core actions Swiftlet does not implement yet (they need transports or
    /// state that does not exist); named as such in the "unknown function" error.
    static let notImplemented: Set<String> = []
}

extension ScriptCompiler {
    /// Compiles a core action call; nil when `name` is not a core action (then module
    /// functions are searched).
    func compileCoreAction(_ name: String, _ args: [Expression], _ loc: SourceLocation) -> ScriptAction? {
        guard let info = CoreActions.table[name] else { return nil }
        guard info.parameters.contains(args.count) else {
            let r = info.parameters
            let counts = r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound) to \(r.upperBound)"
            error("core function '\(name)' takes \(counts) parameter(s), \(args.count) given", loc)
            return { _ in 1 }
        }
        if currentRoute == .onSend, !info.onSend {
            error("'\(name)' cannot be used in onsend_route", loc)
        }
        if let action = compileForwardingAction(name, args, loc) { return action }
        if let action = compileAVPFlagAction(name, args, loc) { return action }
        if let action = compileCfgGroupAction(name, args, loc) { return action }
        switch name {
        case "setflag", "resetflag", "isflagset":
            guard let n = flagNumber(args[0], name) else { return { _ in 1 } }
            let bit = UInt64(1) << UInt64(n)
            switch name {
            case "setflag":
                return { ctx in
                    ctx.flags |= bit
                    return 1
                }
            case "resetflag":
                return { ctx in
                    ctx.flags &= ~bit
                    return 1
                }
            default:
                return { ctx in ctx.flags & bit != 0 ? 1 : -1 }
            }
        case "log":
            // log("text") logs at L_DBG+1, which only a debug level above 3 prints (as Kamailio).
            var level = LogLevel.debug.rawValue + 1
            if args.count == 2 {
                guard let l = constantInt(args[0], "the log level of log()") else { return { _ in 1 } }
                level = l
            }
            guard let text = constantString(args[args.count - 1], "the text of log()") else { return { _ in 1 } }
            guard level <= LogLevel.debug.rawValue else { return { _ in 1 } }
            let l = LogLevel(debugValue: level)
            return { _ in
                if Log.enabled(l) { Log.write(l, module: "core", locinfo: "<script>: ", text) }
                return 1
            }
        case "error":
            guard let a = constantString(args[0], "the first argument of error()"),
                let b = constantString(args[1], "the second argument of error()")
            else { return { _ in 1 } }
            return { _ in
                Log.notice("core", "error(\"\(a)\", \"\(b)\") not implemented yet")
                return 1
            }
        case "userphone":
            return rewrite(.userPhone)
        case "revert_uri":
            return { ctx in
                ctx.newRequestURI = nil
                return 1
            }
        case "force_rport", "add_rport":
            return { ctx in
                ctx.forceRport = true
                return 1
            }
        case "set_forward_no_connect": return sendFlag(.forwardNoConnect)
        case "set_reply_no_connect": return sendFlag(.replyNoConnect)
        case "set_forward_close": return sendFlag(.forwardClose)
        case "set_reply_close": return sendFlag(.replyClose)
        case "rewriteuri", "seturi":
            guard let uri = constantString(args[0], "the URI of \(name)()") else { return { _ in 1 } }
            return { ctx in
                ctx.newRequestURI = uri
                return 1
            }
        case "strip", "strip_tail":
            guard let n = constantInt(args[0], "the length of \(name)()") else { return { _ in 1 } }
            guard n >= 0 else {
                error("\(name)() needs a length of 0 or more, not \(n)", args[0].location)
                return { _ in 1 }
            }
            return rewrite(name == "strip" ? .strip(n) : .stripTail(n))
        default:
            guard let value = constantString(args[0], "the argument of \(name)()") else { return { _ in 1 } }
            switch name {
            case "rewritehost", "sethost", "seth": return rewrite(.host(value))
            case "rewritehostport", "sethostport", "sethp": return rewrite(.hostPort(value))
            case "rewritehostporttrans", "sethostporttrans", "sethpt": return rewrite(.hostPortTransport(value))
            case "rewriteuser", "setuser", "setu": return rewrite(.user(value))
            case "rewriteuserpass", "setup": return rewrite(.userPassword(value))
            case "rewriteport", "setport", "setp": return rewrite(.port(value))
            default: return rewrite(.prefix(value))
            }
        }
    }

    private func sendFlag(_ flag: SendFlags) -> ScriptAction {
        { ctx in
            ctx.sendFlags.insert(flag)
            return 1
        }
    }

    /// Applies an R-URI edit to the URI in effect; -1 when it cannot be parsed.
    private func rewrite(_ edit: URIRewrite.Operation) -> ScriptAction {
        { ctx in
            guard let current = ctx.requestURI else {
                Log.error("core", "no Request-URI to rewrite (not a request)")
                return -1
            }
            do {
                ctx.newRequestURI = try URIRewrite.apply(edit, to: current)
                return 1
            } catch {
                Log.error("core", "\(error) <\(current)>, dropping packet")
                return -1
            }
        }
    }

    /// A flag argument: a number 0-31 or a name declared with `flags`.
    private func flagNumber(_ e: Expression, _ function: String) -> Int? {
        switch e {
        case .integer(let n, let l):
            guard (0...CoreFlags.maxFlag).contains(n) else {
                error("bad flag value \(n) in \(function)() (flags are 0-\(CoreFlags.maxFlag))", l)
                return nil
            }
            if flagNames.values.contains(n) { Log.warning("core", "\(l): flag \(n) is already used by a named flag") }
            return n
        case .name(let n, let l), .string(let n, let l):
            guard let n = flagNames[n] else {
                error("flag '\(n)' is not declared (declare it with 'flags \(n):N')", l)
                return nil
            }
            return n
        default:
            error("\(function)() takes a flag number or a flag name", e.location)
            return nil
        }
    }

    /// A constant string argument (a quoted string; an IP address literal is taken as written).
    func constantString(_ e: Expression, _ what: String) -> String? {
        switch e {
        case .string(let s, _): return s
        default:
            error("\(what) must be a constant string", e.location)
            return nil
        }
    }

    /// A constant integer argument (`-n` included).
    func constantInt(_ e: Expression, _ what: String) -> Int? {
        switch e {
        case .integer(let n, _): return n
        case .unary("-", .integer(let n, _), _): return -n
        default:
            error("\(what) must be a constant integer", e.location)
            return nil
        }
    }
}

/// The named message flags of a configuration (`flags NAME:n, ...`), resolved as Kamailio's
/// `register_flag` does: explicit positions as given, the others on the first free flag.
enum CoreFlags {
    static let maxFlag = 31
    /// The flag names of the configuration being compiled (for `$Mf(name)` & co).
    nonisolated(unsafe) static var declared: [String: Int] = [:]

    static func resolve(_ declarations: [FlagDeclaration], errors: inout [ConfigDiagnostic]) -> [String: Int] {
        var byName: [String: Int] = [:]
        var used = Set<Int>()
        for d in declarations {
            if byName[d.name] != nil {
                errors.append(ConfigDiagnostic("flag '\(d.name)' is declared twice", at: d.location))
                continue
            }
            var position: Int
            if let p = d.position {
                guard (0...maxFlag).contains(p) else {
                    errors.append(
                        ConfigDiagnostic(
                            "invalid position \(p) of flag '\(d.name)' (flags are 0-\(maxFlag))", at: d.location))
                    continue
                }
                if used.contains(p) {
                    Log.warning("core", "\(d.location): \(d.name): flag \(p) already in use under another name")
                }
                position = p
            } else {
                guard let free = (0...maxFlag).first(where: { !used.contains($0) }) else {
                    errors.append(
                        ConfigDiagnostic("could not register flag '\(d.name)': too many flags", at: d.location))
                    continue
                }
                position = free
            }
            used.insert(position)
            byName[d.name] = position
        }
        return byName
    }
}
