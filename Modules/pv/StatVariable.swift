import SwiftletSDK

/// `$stat(name)`: the value of the counter (statistic) `name` in any group, as Kamailio's pv
/// `pv_get_stat`: an unsigned 32-bit integer, null (with a warning) when no counter has that
/// name. The name is looked up when read, so counters that modules register in `mod_init`
/// are found.
enum StatVariable {
    static var pseudoVariableClass: PseudoVariableClass { PseudoVariableClass("stat", make: make) }

    static func make(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let name = pv.inner, !name.isEmpty else { throw FixupError("$stat needs a name: $stat(name)") }
        guard pv.index == nil else { throw FixupError("$stat takes no index") }
        return PseudoVariable(text: pv.text) { _ in
            guard let h = Counters.shared.lookup(group: nil, name: name) else {
                Log.warning("pv", "No stat variable ``\(name)''")
                return .null
            }
            return .int(Int(UInt32(truncatingIfNeeded: Counters.shared.value(h))))
        }
    }
}
