import SwiftletSDK

/// The `xlog` module: formatted log lines from the script (Kamailio's `modules/xlog`).
/// It has `xlog([level,] format)`, `xdbg`/`xinfo`/`xnotice`/`xwarn`/`xerr`/`xbug`/`xcrit`/
/// `xalert(format)` and the `prefix` parameter.
final class XLogModule {
    /// `prefix`: put before every xlog line (Kamailio's default `<script>: `).
    var prefix = "<script>: "
    /// `force_color`: `$C(..)` gives colours even when logging to syslog.
    var forceColor = false

    var exports: ModuleExports {
        let e = ModuleExports(name: "xlog")
        e.parameters = [
            ModuleParameter("prefix", .string { (v: String) throws(FixupError) in self.prefix = v }),
            ModuleParameter("force_color", .int { (v: Int) throws(FixupError) in self.forceColor = v != 0 }),
        ]
        e.pseudoVariables = [XLogColor.pseudoVariableClass { self.forceColor }]
        e.functions = [
            ScriptFunction("xlog", parameters: 1...2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupXlog(args)
            }
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
                    let format = try args[0].stringFormat()
                    return { ctx in
                        if Log.enabled(level) {
                            Log.write(level, module: "xlog", locinfo: self.prefix, format.render(ctx))
                        }
                        return 1
                    }
                })
        }
        return e
    }

    /// `xlog(format)` logs at L_ERR; `xlog(level, format)` takes `L_*` names or a PV/int.
    func fixupXlog(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let format = try args[args.count - 1].stringFormat()
        var level: (MessageContext) -> LogLevel = { _ in .error }
        if args.count == 2 {
            let a = args[0]
            if case .string(let s) = a.value, s.hasPrefix("L_") {
                guard let l = LogLevel(kamailioName: s) else {
                    throw FixupError("unknown log level '\(s)'", at: a.location)
                }
                level = { _ in l }
            } else {
                let p = try a.intParameter()
                level = { ctx in LogLevel(debugValue: p.value(ctx) ?? LogLevel.error.rawValue) }
            }
        }
        return { ctx in
            let l = level(ctx)
            if Log.enabled(l) { Log.write(l, module: "xlog", locinfo: self.prefix, format.render(ctx)) }
            return 1
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "xlog") { XLogModule().exports }
}
