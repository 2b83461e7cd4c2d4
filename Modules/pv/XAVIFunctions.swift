import SwiftletSDK

/// The pv module's functions on xavi lists (Kamailio 5.6 `xavi_child_seti`,
/// `xavi_child_sets`, `xavi_rm`, `xavi_child_rm`); names match without regard to case.
enum XAVIFunctions {
    static var functions: [ScriptFunction] {
        [
            ScriptFunction("xavi_child_seti", parameters: 3, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let (root, field) = (try args[0].stringFormat(), try args[1].stringFormat())
                let value = try args[2].intParameter()
                return { ctx in
                    guard let v = value.value(ctx) else {
                        Log.error("pv", "failed to get the integer value")
                        return -1
                    }
                    return ScriptXAVI.setField(ctx, root.render(ctx), field.render(ctx), .int(v)) ? 1 : -1
                }
            },
            ScriptFunction("xavi_child_sets", parameters: 3, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let (root, field) = (try args[0].stringFormat(), try args[1].stringFormat())
                let value = try args[2].stringFormat()
                return { ctx in
                    ScriptXAVI.setField(ctx, root.render(ctx), field.render(ctx), .string(value.render(ctx))) ? 1 : -1
                }
            },
            // Kamailio returns 1 whether or not there was something to remove.
            ScriptFunction("xavi_rm", parameters: 1, routes: .any) { (args: [ScriptArgument]) throws(FixupError) in
                let root = try args[0].stringFormat()
                return { ctx in
                    ScriptXAVI.removeRoot(ctx, root.render(ctx))
                    return 1
                }
            },
            ScriptFunction("xavi_child_rm", parameters: 2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) in
                let (root, field) = (try args[0].stringFormat(), try args[1].stringFormat())
                return { ctx in
                    ScriptXAVI.removeField(ctx, root.render(ctx), field.render(ctx))
                    return 1
                }
            },
        ]
    }
}
