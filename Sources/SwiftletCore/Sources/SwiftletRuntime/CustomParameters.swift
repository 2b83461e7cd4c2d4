import SwiftletSDK

/// Custom configuration variables: `group.name = value [desc "text"]` at the top level of
/// the configuration, read in the script with `$sel(cfg_get.group.name)` (Kamailio's cfg
/// framework). Set while the configuration loads, read-only afterwards.
final class CustomParameters: @unchecked Sendable {
    static let shared = CustomParameters()
    private(set) var values: [String: PVValue] = [:]
    private(set) var descriptions: [String: String] = [:]

    func reset() {
        values.removeAll()
        descriptions.removeAll()
    }

    /// Parses `group.name = value [desc "text"]`; the value is an integer or a string.
    func define(_ g: GlobalParameter) -> ConfigDiagnostic? {
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
}
