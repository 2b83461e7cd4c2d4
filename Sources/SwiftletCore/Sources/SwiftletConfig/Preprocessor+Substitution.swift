/// A `#!subst`, `#!substdef` or `#!substdefs` given on the command line (`--subst=exp`,
/// `--substdef=exp`, `--substdefs=exp`), applied before the configuration is read.
public struct PreprocessorSubstitution: Equatable, Sendable {
    /// `subst`, `substdef` or `substdefs`.
    public let directive: String
    /// The expression, as in the directive's quotes: `/regex/replacement/flags`.
    public let expression: String

    public init(directive: String, expression: String) {
        self.directive = directive
        self.expression = expression
    }
}

extension Preprocessor {
    /// Adds a substitution rule (`subst`), and for `substdef`/`substdefs` also defines the
    /// name with the replacement (quoted for `substdefs`), as Kamailio's `pp_subst_add` and
    /// `pp_substdef_add`.
    mutating func addSubstitution(
        _ directive: String, _ expression: String, spelled: String, at location: SourceLocation
    ) {
        let rule: SubstRule
        do throws(SubstRule.ParseError) {
            rule = try SubstRule(expression)
        } catch {
            diagnostics.append(
                ConfigDiagnostic("invalid '\(spelled)' expression \"\(expression)\": \(error.message)", at: location))
            return
        }
        substRules.append(rule)
        guard directive != "subst" else { return }
        let parts = SubstRule.splitDefinition(expression)
        guard !parts.name.isEmpty else {
            diagnostics.append(ConfigDiagnostic("missing name in '\(spelled)' \"\(expression)\"", at: location))
            return
        }
        let value = directive == "substdefs" ? Preprocessor.quoted(parts.value) : parts.value
        define(parts.name, value: value, at: location)
    }
}
