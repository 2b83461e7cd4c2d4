import SwiftletSDK

/// `cfg_select("group", id)` and `cfg_reset("group")` (Kamailio's cfg framework): the
/// message reads `@cfg_get.group.name` from instance `id` of the group (declared as
/// `group[id].name = value`) until `cfg_reset` or the end of the message.
enum CfgGroupActions {
    static let table: [String: CoreActions.Info] = ["cfg_select": .init(2...2), "cfg_reset": .init(1...1)]

    /// The custom groups declared in the configuration (`group.name = value`).
    static func groups() -> Set<String> {
        Set(CustomParameters.shared.values.keys.compactMap { $0.split(separator: ".").first.map(String.init) })
    }
}

extension ScriptCompiler {
    /// Compiles `cfg_select`/`cfg_reset`; nil for other names.
    func compileCfgGroupAction(_ name: String, _ args: [Expression], _ loc: SourceLocation) -> ScriptAction? {
        guard CfgGroupActions.table[name] != nil else { return nil }
        guard case .string(let group, let gl) = args[0] else {
            error("\(name)() takes the group name as a string first", args[0].location)
            return { _ in -1 }
        }
        guard CfgGroupActions.groups().contains(group) else {
            error("configuration group '\(group)' not found", gl)
            return { _ in -1 }
        }
        if name == "cfg_reset" {
            return { ctx in
                ctx.cfgInstances[group] = nil
                return 1
            }
        }
        let id = compileExpression(args[1])
        let parameters = CustomParameters.shared.snapshot
        return { ctx in
            let i = id(ctx).intValue
            guard parameters.hasInstance(group: group, id: i) else {
                Log.error("core", "cfg_select(): group instance not found: \(group)[\(id(ctx).stringValue)]")
                return -1
            }
            ctx.cfgInstances[group] = i
            return 1
        }
    }
}
