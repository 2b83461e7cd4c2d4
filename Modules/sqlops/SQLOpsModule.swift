import SwiftletSDK

/// The `sqlops` module: SQL from the script (`sql_query`, `sql_xquery`, `sql_result_free`,
/// `$dbr(...)`) over the connections named by `modparam("sqlops", "sqlcon", "name=>url")`,
/// through the SDK's `Database` (any loaded db_* driver).
final class SQLOpsModule {
    /// `sqlcon` definitions in order: name and URL.
    var connectionSpecs: [(name: String, url: String)] = []
    /// The bound handles by connection name (after `mod_init`).
    var connections: [String: Database] = [:]
    /// Result names the script uses (fixups and `sqlres`), for `results_maxsize`.
    var resultNames: Set<String> = []
    var resultsMaxSize = 32
    /// `connect_mode`: 0 a connection failure in `child_init` stops start-up; 1 it is logged
    /// and the first query connects.
    var connectMode = 0
    let slot = SQLThreadState.newSlot()

    var exports: ModuleExports {
        let e = ModuleExports(name: "sqlops")
        e.parameters = [
            ModuleParameter(
                "sqlcon",
                .string { (v: String) throws(FixupError) in
                    guard let arrow = v.firstRange(of: "=>") else {
                        throw FixupError("sqlops: invalid sqlcon '\(v)' (expected name=>url)")
                    }
                    let name = String(v[..<arrow.lowerBound]).trimmingCharacters()
                    let url = String(v[arrow.upperBound...]).trimmingCharacters()
                    guard !name.isEmpty, !url.isEmpty else { throw FixupError("sqlops: invalid sqlcon '\(v)'") }
                    guard !self.connectionSpecs.contains(where: { $0.name == name }) else {
                        throw FixupError("sqlops: duplicate connection name '\(name)'")
                    }
                    self.connectionSpecs.append((name, url))
                }),
            ModuleParameter(
                "sqlres", .string { (v: String) throws(FixupError) in try self.declareResult(v.trimmingCharacters()) }),
            ModuleParameter(
                "results_maxsize", .int { (v: Int) throws(FixupError) in self.resultsMaxSize = max(1, v) }),
            ModuleParameter("connect_mode", .int { (v: Int) throws(FixupError) in self.connectMode = v }),
            // Accepted: the {sql.*} transformations are not there yet.
            ModuleParameter("tr_buf_size", .int { (_: Int) throws(FixupError) in }),
        ]
        e.functions = functions
        e.pseudoVariables = [dbrPV]
        e.initialize = { context in
            for spec in self.connectionSpecs {
                do throws(DatabaseError) {
                    self.connections[spec.name] = try Database(url: spec.url, core: context.core)
                } catch {
                    throw FixupError("sqlops: connection '\(spec.name)': \(error)")
                }
            }
        }
        e.childInitialize = { _ in
            for spec in self.connectionSpecs {
                do throws(DatabaseError) {
                    try self.connections[spec.name]?.connect()
                } catch {
                    if self.connectMode == 1 {
                        Log.warning(
                            "sqlops",
                            "failed to connect to the database '\(spec.name)': \(error) (connect_mode 1: going on)")
                    } else {
                        throw FixupError("sqlops: failed to connect to the database '\(spec.name)': \(error)")
                    }
                }
            }
        }
        e.destroy = {
            SQLThreadState.current.remove(self.slot)
            for db in self.connections.values { db.disconnect() }
        }
        return e
    }

    /// A result container the script names (Kamailio's `sql_get_result`); at most
    /// `results_maxsize` of them.
    func declareResult(_ name: String) throws(FixupError) {
        guard !name.isEmpty else { throw FixupError("sqlops: empty result name") }
        if resultNames.contains(name) { return }
        guard resultNames.count < resultsMaxSize else {
            throw FixupError("sqlops: too many result containers (results_maxsize \(resultsMaxSize))")
        }
        resultNames.insert(name)
    }

    /// The connection named `name` at fixup time (it must be defined by `sqlcon`).
    func requireConnection(_ name: String) throws(FixupError) -> String {
        guard connectionSpecs.contains(where: { $0.name == name }) else {
            throw FixupError("sqlops: invalid connection [\(name)]")
        }
        return name
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "sqlops") { SQLOpsModule().exports }
}
