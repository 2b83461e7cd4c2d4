import SwiftletSDK

/// The `avpops` module (Kamailio's `modules/avpops`): operations on the message's AVPs
/// (`$avp(...)`) and loading/storing them in a database table (`usr_preferences`).
final class AvpopsModule: @unchecked Sendable {
    var dbURL: String?
    var table = ""
    var useDomain = false
    var columns = AvpopsColumns()
    var schemes: [AvpopsScheme] = []
    var database: Database?

    static let routes: RouteTypes = [.request, .failure, .branch, .onReply, .local]

    var exports: ModuleExports {
        let e = ModuleExports(name: "avpops")
        func column(_ name: String, _ set: @escaping (String) -> Void) -> ModuleParameter {
            ModuleParameter(name, .string { (v: String) throws(FixupError) in set(v) })
        }
        e.parameters = [
            ModuleParameter("db_url", .string { (v: String) throws(FixupError) in self.dbURL = v }),
            ModuleParameter("avp_table", .string { (v: String) throws(FixupError) in self.table = v }),
            ModuleParameter("use_domain", .int { (v: Int) throws(FixupError) in self.useDomain = v != 0 }),
            column("uuid_column") { self.columns.uuid = $0 },
            column("username_column") { self.columns.username = $0 },
            column("domain_column") { self.columns.domain = $0 },
            column("attribute_column") { self.columns.attribute = $0 },
            column("value_column") { self.columns.value = $0 },
            column("type_column") { self.columns.type = $0 },
            ModuleParameter(
                "db_scheme",
                .function { (v: ModuleParameterSetting.Value) throws(FixupError) in
                    guard case .string(let text) = v else { throw FixupError("db_scheme takes a string") }
                    let s = try AvpopsScheme(parsing: text)
                    guard !self.schemes.contains(where: { $0.name.lowercased() == s.name.lowercased() }) else {
                        throw FixupError("duplicated scheme name <\(s.name)>")
                    }
                    self.schemes.append(s)
                }),
        ]
        e.functions = [
            ScriptFunction("avp_print", parameters: 0, routes: Self.routes, fixup: AvpopsMemoryFunctions.print),
            ScriptFunction("avp_delete", parameters: 1, routes: Self.routes, fixup: AvpopsMemoryFunctions.delete),
            ScriptFunction("avp_copy", parameters: 2, routes: Self.routes, fixup: AvpopsMemoryFunctions.copy),
            ScriptFunction("avp_pushto", parameters: 2, routes: Self.routes, fixup: AvpopsOperations.pushTo),
            ScriptFunction("avp_check", parameters: 2, routes: Self.routes, fixup: AvpopsCheck.fixup),
            ScriptFunction("avp_op", parameters: 2, routes: Self.routes, fixup: AvpopsOperations.op),
            ScriptFunction("avp_subst", parameters: 2, routes: Self.routes, fixup: AvpopsOperations.substFixup),
            ScriptFunction("avp_subst_pv", parameters: 2, routes: Self.routes, fixup: AvpopsOperations.substPVFixup),
            ScriptFunction("is_avp_set", parameters: 1, routes: Self.routes, fixup: AvpopsMemoryFunctions.isSet),
            dbFunction("avp_db_load", allowScheme: true) { self.load($0, $1, $2) },
            dbFunction("avp_db_store", allowScheme: false) { self.store($0, $1, $2) },
            dbFunction("avp_db_delete", allowScheme: false) { self.delete($0, $1, $2) },
            ScriptFunction("avp_db_query", parameters: 1...2, routes: Self.routes) {
                (args: [ScriptArgument]) throws(FixupError) in
                try self.requireDatabase("avp_db_query", args[0])
                let sql = try args[0].stringFormat()
                var destinations: [AVPReference]?
                if args.count > 1 {
                    destinations = []
                    for name in try args[1].rawText().split(separator: ";") {
                        guard let avp = try AVPReference(String(name)) else {
                            throw FixupError("bad format in P2 [\(name)]", at: args[1].location)
                        }
                        destinations!.append(avp)
                    }
                }
                return { ctx in self.query(ctx, sql, destinations) }
            },
        ]
        e.initialize = { context in
            guard let url = self.dbURL, !url.isEmpty else { return }
            guard !self.table.isEmpty else { throw RuntimeError("\"AVP_DB\" present but \"AVP_TABLE\" found empty") }
            self.database = try Database(url: url, core: context.core)
        }
        e.childInitialize = { rank in
            guard rank > 0, let db = self.database else { return }
            try db.connect()
        }
        return e
    }

    func requireDatabase(_ function: String, _ arg: ScriptArgument) throws(FixupError) {
        guard dbURL != nil else {
            throw FixupError("you have to configure a db_url for using \(function)", at: arg.location)
        }
    }

    private func dbFunction(
        _ name: String, allowScheme: Bool, _ run: @escaping (MessageContext, AvpopsSource, AvpopsDBName) -> Int
    ) -> ScriptFunction {
        ScriptFunction(name, parameters: 2, routes: Self.routes) { (args: [ScriptArgument]) throws(FixupError) in
            try self.requireDatabase(name, args[0])
            let source: AvpopsSource
            let dbName: AvpopsDBName
            do throws(FixupError) {
                source = try AvpopsSource(try args[0].rawText())
            } catch {
                throw FixupError(error.message, at: args[0].location)
            }
            do throws(FixupError) {
                dbName = try AvpopsDBName(try args[1].rawText(), schemes: self.schemes, allowScheme: allowScheme)
            } catch {
                throw FixupError(error.message, at: args[1].location)
            }
            return { ctx in run(ctx, source, dbName) }
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "avpops") { AvpopsModule().exports }
}
