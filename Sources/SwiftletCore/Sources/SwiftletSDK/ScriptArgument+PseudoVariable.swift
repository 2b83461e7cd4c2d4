extension ScriptArgument {
    /// The argument as a pseudo-variable, compiled once at start-up (Kamailio's `fixup_pvar`):
    /// a bare `$var(x)` or a string holding exactly one, such as `"$var(x)"` (spaces and tabs
    /// around it are ignored). An integer, text that does not start with `$`, or a name the
    /// registry does not know is a fixup error at the argument's position.
    public func pseudoVariable(registry: PseudoVariableRegistry = .shared) throws(FixupError) -> PseudoVariable {
        let text: String
        switch value {
        case .pseudoVariable(let p), .string(let p): text = p.trimmingCharacters()
        case .int(let i): throw FixupError("a pseudo-variable is required here, not \(i)", at: location)
        }
        guard text.hasPrefix("$") else {
            throw FixupError("a pseudo-variable is required here, not \"\(text)\"", at: location)
        }
        do {
            return try registry.compile(text)
        } catch {
            throw FixupError(error.message, at: location)
        }
    }
}
