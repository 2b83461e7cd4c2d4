import SwiftletSDK

/// The `uac` module (Kamailio's `modules/uac`): From/To replacement with restoration
/// (`uac_replace_from/to`, `uac_restore_from/to`), digest authentication of relayed requests
/// (`uac_auth`), and requests sent from the script (`uac_req_send` with `$uac_req`). See
/// README.md.
final class UACModule {
    enum RestoreMode { case none, manual, auto }

    var restoreMode = RestoreMode.auto
    /// `restore_passwd`: XORed into the stored URI.
    var restorePassword: [UInt8] = []
    /// `rr_from_store_param`, `rr_to_store_param`.
    var fromParameter = "vsf"
    var toParameter = "vst"
    var restoreDialog = 0
    /// `credential` lines.
    var credentials: [Credential] = []
    var usernameSpec: String?
    var realmSpec: String?
    var passwordSpec: String?
    var usernamePV: PseudoVariable?
    var realmPV: PseudoVariable?
    var passwordPV: PseudoVariable?

    var tm: TransactionCallbacksAPI?
    var tmUAC: TransactionUACAPI?
    var tmFailure: TransactionFailureAPI?
    var rr: RecordRouteAPI?
    var core: CoreContext = .current

    var exports: ModuleExports {
        let e = ModuleExports(name: "uac")
        e.parameters = [
            ModuleParameter(
                "restore_mode",
                .string { (v: String) throws(FixupError) in
                    switch v.lowercased() {
                    case "none": self.restoreMode = .none
                    case "manual": self.restoreMode = .manual
                    case "auto": self.restoreMode = .auto
                    default: throw FixupError("unsupported value '\(v)' for restore_mode")
                    }
                }),
            ModuleParameter(
                "restore_passwd", .string { (v: String) throws(FixupError) in self.restorePassword = Array(v.utf8) }),
            ModuleParameter(
                "rr_from_store_param", .string { (v: String) throws(FixupError) in self.fromParameter = v }),
            ModuleParameter("rr_to_store_param", .string { (v: String) throws(FixupError) in self.toParameter = v }),
            ModuleParameter("restore_dlg", .int { (v: Int) throws(FixupError) in self.restoreDialog = v }),
            ModuleParameter(
                "credential",
                .string { (v: String) throws(FixupError) in self.credentials.insert(try Credential(parsing: v), at: 0) }
            ),
            ModuleParameter("auth_username_avp", .string { (v: String) throws(FixupError) in self.usernameSpec = v }),
            ModuleParameter("auth_realm_avp", .string { (v: String) throws(FixupError) in self.realmSpec = v }),
            ModuleParameter("auth_password_avp", .string { (v: String) throws(FixupError) in self.passwordSpec = v }),
        ]
        e.functions = replaceFunctions + [authFunction, authFunctionWithMode, requestSendFunction]
        e.pseudoVariables = [PseudoVariableClass("uac_req", make: makeRequestPV)]
        e.initialize = { (context: ModuleInitContext) throws(FixupError) in try self.initialize(context) }
        return e
    }

    /// Kamailio's `mod_init`.
    func initialize(_ context: ModuleInitContext) throws(FixupError) {
        core = context.core
        if restoreMode != .none, fromParameter.isEmpty || toParameter.isEmpty {
            throw FixupError("rr_store_param cannot be empty if FROM is restoreable")
        }
        if usernameSpec != nil || realmSpec != nil || passwordSpec != nil {
            guard let u = usernameSpec, let r = realmSpec, let p = passwordSpec else {
                throw FixupError("partial definition of auth AVP!")
            }
            func compile(_ spec: String, _ what: String) throws(FixupError) -> PseudoVariable {
                do {
                    return try PseudoVariableRegistry.shared.compile(spec)
                } catch {
                    throw FixupError("malformed or non AVP \(what) AVP definition")
                }
            }
            realmPV = try compile(r, "realm")
            usernamePV = try compile(u, "username")
            passwordPV = try compile(p, "password")
        }
        tm = try context.requireAPI(TransactionCallbacksAPI.self, by: "uac", from: "tm")
        tmUAC = try context.requireAPI(TransactionUACAPI.self, by: "uac", from: "tm")
        tmFailure = try context.requireAPI(TransactionFailureAPI.self, by: "uac", from: "tm")
        guard restoreMode != .none else { return }
        rr = try context.requireAPI(RecordRouteAPI.self, by: "uac", from: "rr")
        if restoreMode == .auto {
            guard restoreDialog == 0 else {
                throw FixupError(
                    "restore_dlg=1 needs the dialog module, which Swiftlet does not have yet: use restore_dlg=0 (Route parameter restore)"
                )
            }
            guard rr?.appendsFromTag == true else {
                throw FixupError("'append_fromtag' RR param is not enabled! - required by AUTO restore mode")
            }
            rr?.registerLooseRouteCallback(priority: 0) { ctx, _ in self.restoreOnLooseRoute(ctx) }
        }
    }
}

/// Kamailio's `msg_flags` bits of uac.
enum UACFlag {
    static let useFrom: UInt32 = 1 << 13
    static let useTo: UInt32 = 1 << 14
    static let auth: UInt32 = 1 << 19
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "uac") { UACModule().exports }
}
