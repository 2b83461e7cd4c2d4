import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The `xlog` module: formatted log lines from the script (Kamailio's `modules/xlog`):
/// `xlog([[facility,] level,] format)`, `xlogl`, `xlogm`, `xdbg`/`xinfo`/.../`xalert(format)`,
/// `xdbgl(format)` and their parameters.
final class XLogModule {
    /// `prefix`: put before every xlog line (Kamailio's default `<script>: `).
    var prefix = "<script>: "
    /// `prefix_mode`: 1 evaluates `prefix` as a format with pseudo-variables for each line.
    var prefixMode = 0
    /// The parsed prefix when `prefix_mode` is 1 (set at initialisation).
    var prefixFormat: StringFormat? = nil
    /// `force_color`: `$C(..)` gives colours even when logging to syslog.
    var forceColor = false
    /// `buf_size`: the longest line; a longer one is not printed and the function fails.
    var bufferSize = 4096
    /// `long_format`: 1 puts the configuration file before the line number of `xlogl` lines.
    var longFormat = 0
    /// `log_facility`: the syslog facility of xlog lines (nil: the core's `log_facility`).
    var facility: Int32? = nil
    /// `methods_filter`: the methods `xlogm` does not print for (Kamailio's method bits; -1: all).
    var methodsFilter = -1

    var exports: ModuleExports {
        let e = ModuleExports(name: "xlog")
        e.parameters = [
            ModuleParameter("prefix", .string { (v: String) throws(FixupError) in self.prefix = v }),
            ModuleParameter("prefix_mode", .int { (v: Int) throws(FixupError) in self.prefixMode = v }),
            ModuleParameter("force_color", .int { (v: Int) throws(FixupError) in self.forceColor = v != 0 }),
            ModuleParameter(
                "buf_size",
                .int { (v: Int) throws(FixupError) in
                    guard v > 0 else { throw FixupError("buf_size must be positive") }
                    self.bufferSize = v
                }),
            ModuleParameter("long_format", .int { (v: Int) throws(FixupError) in self.longFormat = v }),
            ModuleParameter(
                "log_facility",
                .string { (v: String) throws(FixupError) in
                    guard let f = XLogLine.facilities[v.uppercased()] else {
                        throw FixupError("invalid syslog facility \(v)")
                    }
                    self.facility = f
                }),
            ModuleParameter("methods_filter", .int { (v: Int) throws(FixupError) in self.methodsFilter = v }),
        ]
        e.pseudoVariables = [XLogColor.pseudoVariableClass { self.forceColor }]
        e.initialize = { _ in
            if self.prefixMode != 0 { self.prefixFormat = try StringFormat(parsing: self.prefix) }
        }
        e.functions = [
            ScriptFunction("xlog", parameters: 1...3, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupXlog(args, mode: .plain)
            },
            ScriptFunction("xlogl", parameters: 1...2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupXlog(args, mode: .withLine)
            },
            ScriptFunction("xlogm", parameters: 2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupXlog(args, mode: .methodFiltered)
            },
            ScriptFunction("xdbgl", parameters: 1, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixed(.debug, args[0], withLine: true)
            },
        ]
        // xdbg(format), xinfo(format), ...: xlog at a fixed level.
        let fixed: [(String, LogLevel)] = [
            ("xdbg", .debug), ("xinfo", .info), ("xnotice", .notice), ("xwarn", .warning), ("xerr", .error),
            ("xbug", .bug), ("xcrit", .crit), ("xalert", .alert),
        ]
        for (name, level) in fixed {
            e.functions.append(
                ScriptFunction(name, parameters: 1, routes: .any) {
                    (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                    try self.fixed(level, args[0], withLine: false)
                })
        }
        return e
    }

    /// `xdbg(format)` & co.
    func fixed(_ level: LogLevel, _ arg: ScriptArgument, withLine: Bool) throws(FixupError) -> ScriptAction {
        let line = XLogLine(module: self, format: try arg.stringFormat(), at: withLine ? arg.location : nil)
        return { ctx in Log.enabled(level) ? line.print(level, ctx, facility: nil) : 1 }
    }

    /// `xlog(format)` logs at L_ERR; `xlog(level, format)` takes `L_*` names or a PV/int;
    /// `xlog(facility, level, format)` sends the line to that syslog facility.
    func fixupXlog(_ args: [ScriptArgument], mode: XLogLine.Mode) throws(FixupError) -> ScriptAction {
        let formatArg = args[args.count - 1]
        let line = XLogLine(
            module: self, format: try formatArg.stringFormat(), at: mode == .withLine ? formatArg.location : nil)
        var level: (MessageContext) -> LogLevel? = { _ in .error }
        if args.count >= 2 { level = try Self.level(args[args.count - 2]) }
        var facility: Int32? = nil
        if args.count == 3 {
            guard case .string(let name) = args[0].value, let f = XLogLine.facilities[name.uppercased()] else {
                throw FixupError("invalid syslog facility", at: args[0].location)
            }
            facility = f
        }
        return { ctx in
            guard let l = level(ctx) else {
                Log.error("xlog", "invalid log level value")
                return -1
            }
            guard Log.enabled(l) else { return 1 }
            if mode == .methodFiltered, self.isFiltered(ctx) { return 1 }
            return line.print(l, ctx, facility: facility)
        }
    }

    /// A level argument: an `L_*` name, or an integer / pseudo-variable holding a `debug=` value.
    static func level(_ a: ScriptArgument) throws(FixupError) -> (MessageContext) -> LogLevel? {
        if case .string(let s) = a.value, s.hasPrefix("L_") {
            guard let l = LogLevel(kamailioName: s) else {
                throw FixupError("unknown log level '\(s)'", at: a.location)
            }
            return { _ in l }
        }
        let p = try a.intParameter()
        return { ctx in p.value(ctx).map { LogLevel(debugValue: $0) } }
    }

    /// `xlogm`: true when the message's method (the CSeq method of a reply) is in
    /// `methods_filter`, or the filter is -1.
    func isFiltered(_ ctx: MessageContext) -> Bool {
        if methodsFilter == -1 { return true }
        return XLogLine.methodBit(ctx.message.methodText) & methodsFilter != 0
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "xlog") { XLogModule().exports }
}
