/// A parameter a module accepts through `modparam` (Kamailio's `param_export_t`).
public struct ModuleParameter {
    /// The value types Kamailio distinguishes.
    public enum Kind {
        /// `PARAM_INT`: the setter gets an integer (a numeric string is converted).
        case int((Int) throws(FixupError) -> Void)
        /// `PARAM_STRING`/`PARAM_STR`: the setter gets a string (an integer is printed).
        case string((String) throws(FixupError) -> Void)
        /// `PARAM_USE_FUNC`: called for every modparam line with whatever was written;
        /// the parameter may be repeated (e.g. htable's `htable`).
        case function((ModuleParameterSetting.Value) throws(FixupError) -> Void)
    }

    public let name: String
    public let kind: Kind

    public init(_ name: String, _ kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// Applies one `modparam` value, converting between int and string as Kamailio does.
    public func apply(_ value: ModuleParameterSetting.Value) throws(FixupError) {
        switch (kind, value) {
        case (.int(let set), .int(let i)): try set(i)
        case (.int(let set), .string(let s)):
            guard let i = Int(s.trimmingCharacters()) else {
                throw FixupError("parameter '\(name)' takes an integer, found \"\(s)\"")
            }
            try set(i)
        case (.string(let set), .string(let s)): try set(s)
        case (.string(let set), .int(let i)): try set(String(i))
        case (.function(let f), _): try f(value)
        }
    }
}
