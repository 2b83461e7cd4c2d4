import SwiftletSDK

/// The `counters` module (Kamailio's `modules/counters`): counters defined in the
/// configuration (`script_counter`), changed from the script (`cnt_inc`, `cnt_add`,
/// `cnt_reset`) and read over RPC (`cnt.get`, `cnt.grps_list`, ...), for every group of the
/// core's counters registry, not only the script's.
final class CountersModule {
    /// `script_cnt_grp_name`: the group of counters named without one.
    var scriptGroup = "script"
    let counters = Counters.shared

    var exports: ModuleExports {
        let e = ModuleExports(name: "counters")
        e.parameters = [
            ModuleParameter("script_cnt_grp_name", .string { (v: String) throws(FixupError) in self.scriptGroup = v }),
            ModuleParameter(
                "script_counter",
                .function { (v: ModuleParameterSetting.Value) throws(FixupError) in
                    switch v {
                    case .string(let s): try self.addScriptCounter(s)
                    case .int(let i): try self.addScriptCounter(String(i))
                    }
                }),
        ]
        let routes: RouteTypes = [.request, .onReply, .failure, .onSend]
        e.functions = [
            ScriptFunction("cnt_inc", parameters: 1, routes: routes) { (args: [ScriptArgument]) throws(FixupError) in
                let h = try self.handle(args[0])
                return { _ in
                    h.increment()
                    return 1
                }
            },
            ScriptFunction("cnt_add", parameters: 2, routes: routes) { (args: [ScriptArgument]) throws(FixupError) in
                let h = try self.handle(args[0])
                let value = try args[1].intParameter()
                return { ctx in
                    guard let v = value.value(ctx) else {
                        Log.error("counters", "non integer parameter")
                        return -1
                    }
                    h.add(v)
                    return 1
                }
            },
            ScriptFunction("cnt_reset", parameters: 1, routes: routes) { (args: [ScriptArgument]) throws(FixupError) in
                let h = try self.handle(args[0])
                return { _ in
                    Counters.shared.reset(h)
                    return 1
                }
            },
        ]
        e.rpcs = CountersRPC.commands
        return e
    }

    /// `script_counter` value: `[grp.]name[( |:)description]`.
    func addScriptCounter(_ text: String) throws(FixupError) {
        var name = Substring(text)
        var description = "custom script counter."
        if let sep = name.firstIndex(where: { $0 == ":" }) ?? name.firstIndex(of: " ") {
            let d = name[name.index(after: sep)...].drop { $0 == " " || $0 == "\t" }
            if !d.isEmpty { description = String(d) }
            name = name[..<sep]
        }
        var group = scriptGroup
        if let dot = name.firstIndex(of: ".") {
            group = String(name[..<dot])
            name = name[name.index(after: dot)...]
        }
        do {
            try counters.register(group: group, name: String(name), description: description)
        } catch {
            // Kamailio logs a second definition and goes on.
            guard counters.lookup(group: group, name: String(name)) == nil else {
                Log.error("counters", "counter \(group).\(name) already registered")
                return
            }
            throw FixupError("failed to register counter \(group).\(name): \(error.message)")
        }
    }

    /// The counter named by a function's first argument: `name` (in the script group) or `grp.name`.
    func handle(_ arg: ScriptArgument) throws(FixupError) -> CounterHandle {
        let text = try arg.constantString()
        var group = scriptGroup
        var name = Substring(text)
        if let dot = name.firstIndex(of: ".") {
            group = String(name[..<dot])
            name = name[name.index(after: dot)...]
        }
        guard let h = counters.lookup(group: group, name: String(name)) else {
            throw FixupError("counter \(group).\(name) does not exist (forgot to define it?)", at: arg.location)
        }
        return h
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "counters") { CountersModule().exports }
}
