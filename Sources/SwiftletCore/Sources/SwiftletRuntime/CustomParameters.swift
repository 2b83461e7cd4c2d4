import SwiftletSDK

/// Custom configuration variables: `group.name = value [desc "text"]` at the top level of
/// the configuration, read in the script with `$sel(cfg_get.group.name)` (Kamailio's cfg
/// framework). Set while the configuration loads, read-only afterwards.
final class CustomParameters: @unchecked Sendable {
    static let shared = CustomParameters()
    private(set) var values: [String: PVValue] = [:]
    private(set) var descriptions: [String: String] = [:]
    /// Group instances (`group[n].name = value`): group -> id -> name -> value. A name not
    /// set in an instance has the default group's value.
    private(set) var instances: [String: [Int: [String: PVValue]]] = [:]

    func reset() {
        values.removeAll()
        descriptions.removeAll()
        instances.removeAll()
    }

    /// A copy of what the configuration defined, for the compiled script to keep. Script code
    /// reads this, never `shared` at run time: loading another configuration in the same
    /// process (tests, `cfg.reload`-style reloads) resets `shared`.
    var snapshot: Snapshot { Snapshot(values: values, instances: instances) }

    /// The custom variables of one loaded configuration, immutable.
    struct Snapshot {
        let values: [String: PVValue]
        let instances: [String: [Int: [String: PVValue]]]

        /// The value of `group.name` for a message: the selected instance's, else the default.
        func value(_ ctx: MessageContext, group: String, name: String, key: String) -> PVValue? {
            if let id = ctx.cfgInstances[group], let v = instances[group]?[id]?[name] { return v }
            return values[key]
        }

        /// True when `group` has an instance `id` (`cfg_select`).
        func hasInstance(group: String, id: Int) -> Bool { instances[group]?[id] != nil }
    }

    /// Parses `group.name = value [desc "text"]`; the value is an integer or a string.
    func define(_ g: GlobalParameter) -> ConfigDiagnostic? {
        if let open = g.name.firstIndex(of: "["), let close = g.name.firstIndex(of: "]"),
            let id = Int(g.name[g.name.index(after: open)..<close])
        {
            return defineInstance(
                g, group: String(g.name[..<open]), id: id, name: String(g.name[close...].dropFirst(2)))
        }
        let parts = g.name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            return ConfigDiagnostic("custom parameter '\(g.name)' must be named group.name", at: g.location)
        }
        var tokens = g.value[...]
        var value: PVValue
        guard let first = tokens.first else { return ConfigDiagnostic("missing value for '\(g.name)'", at: g.location) }
        switch first.kind {
        case .string: value = .string(first.text)
        case .integer(let i): value = .int(i)
        case .punctuation where first.text == "-":
            guard tokens.count > 1, case .integer(let i) = tokens[tokens.startIndex + 1].kind else {
                return ConfigDiagnostic("expected a number after '-'", at: first.location)
            }
            value = .int(-i)
            tokens = tokens.dropFirst()
        default:
            return ConfigDiagnostic("the value of '\(g.name)' must be a string or an integer", at: first.location)
        }
        tokens = tokens.dropFirst()
        if let d = tokens.first {
            guard d.kind == .identifier, d.text == "desc" || d.text == "descr", tokens.count == 2,
                tokens[tokens.startIndex + 1].kind == .string
            else { return ConfigDiagnostic("expected 'desc \"text\"' after the value of '\(g.name)'", at: d.location) }
            descriptions[g.name] = tokens[tokens.startIndex + 1].text
        }
        if values[g.name] != nil {
            return ConfigDiagnostic("custom parameter '\(g.name)' is defined twice", at: g.location)
        }
        values[g.name] = value
        return nil
    }

    /// `group[id].name = value`: the variable must have been declared in the group first.
    private func defineInstance(_ g: GlobalParameter, group: String, id: Int, name: String) -> ConfigDiagnostic? {
        guard let def = values["\(group).\(name)"] else {
            return ConfigDiagnostic(
                "group instance variable '\(g.name)': '\(group).\(name)' is not declared before it", at: g.location)
        }
        guard let first = g.value.first, g.value.count == 1 else {
            return ConfigDiagnostic("the value of '\(g.name)' must be a string or an integer", at: g.location)
        }
        let value: PVValue
        switch (first.kind, def) {
        case (.string, .string): value = .string(first.text)
        case (.integer(let i), .int): value = .int(i)
        default:
            return ConfigDiagnostic(
                "the value of '\(g.name)' must have the type of '\(group).\(name)'", at: first.location)
        }
        instances[group, default: [:]][id, default: [:]][name] = value
        return nil
    }
}
