import SwiftletSDK

/// The `rr` module (Kamailio's `modules/rr`): Record-Route insertion (`record_route()` and its
/// preset and advertised-address forms, `add_rr_param()`, `remove_record_route()`) and Route
/// processing (`loose_route()`, `check_route_param()`, `is_direction()`), RFC 3261 sections
/// 16.4, 16.6 and 16.12, as Kamailio 5.6 does them byte for byte.
final class RRModule {
    /// `append_fromtag`: add `;ftag=` with the From tag (the To tag upstream) to Record-Route.
    var appendFromTag = 1
    /// `enable_double_rr`: 0 one Record-Route; 1 two when the request leaves on another
    /// socket or transport than it came in on; 2 always two.
    var enableDoubleRR = 1
    /// `enable_full_lr`: `;lr=on` instead of `;lr`.
    var enableFullLR = 0
    /// `add_username`: put the Request-URI user (or `custom_user_avp`) in the Record-Route URI.
    var addUsername = 0
    /// `enable_socket_mismatch_warning`: warn when a double Route names no local socket.
    var socketMismatchWarning = 1
    /// `custom_user_avp`: the PV whose value is the Record-Route user with `add_username`.
    var customUserSpec: String?
    var customUser: PseudoVariable?
    /// `force_send_socket`: `loose_route()` makes the socket named by our Route the send socket.
    var forceSendSocket = 0
    /// `ignore_sips`: always `sip:` in Record-Route, even for a `sips:` Request-URI.
    var ignoreSips = 0
    /// `sockname_mode`: add `;sn=<socket name>` to Record-Route; `loose_route()` uses it.
    var socknameMode = 0

    /// What the module remembers about the message a worker thread is processing.
    let states = MessageStates()
    /// `register_rrcb()` callbacks, lowest priority first (RRAPI.swift).
    var looseRouteCallbacks: [(priority: Int, callback: (MessageContext, String) -> Void)] = []

    var exports: ModuleExports {
        let e = ModuleExports(name: "rr")
        e.parameters = [
            ModuleParameter("append_fromtag", .int { (v: Int) throws(FixupError) in self.appendFromTag = v }),
            ModuleParameter("enable_double_rr", .int { (v: Int) throws(FixupError) in self.enableDoubleRR = v }),
            ModuleParameter("enable_full_lr", .int { (v: Int) throws(FixupError) in self.enableFullLR = v }),
            ModuleParameter("add_username", .int { (v: Int) throws(FixupError) in self.addUsername = v }),
            ModuleParameter(
                "enable_socket_mismatch_warning",
                .int { (v: Int) throws(FixupError) in self.socketMismatchWarning = v }),
            ModuleParameter("custom_user_avp", .string { (v: String) throws(FixupError) in self.customUserSpec = v }),
            ModuleParameter("force_send_socket", .int { (v: Int) throws(FixupError) in self.forceSendSocket = v }),
            ModuleParameter("ignore_sips", .int { (v: Int) throws(FixupError) in self.ignoreSips = v }),
            ModuleParameter("sockname_mode", .int { (v: Int) throws(FixupError) in self.socknameMode = v }),
        ]
        let insertRoutes: RouteTypes = [.request, .branch, .failure]
        e.functions = [
            ScriptFunction("loose_route", parameters: 0, routes: .request) { (_: [ScriptArgument]) throws(FixupError) in
                { ctx in self.looseRoute(ctx, mode: 0) }
            },
            ScriptFunction("loose_route_preloaded", parameters: 0, routes: .request) {
                (_: [ScriptArgument]) throws(FixupError) in
                { ctx in self.looseRoute(ctx, mode: 0) == RouteStatus.preloaded ? 1 : -1 }
            },
            ScriptFunction("loose_route_mode", parameters: 1, routes: .request, fixup: fixupLooseRouteMode),
            ScriptFunction("record_route", parameters: 0...1, routes: insertRoutes, fixup: fixupRecordRoute),
            ScriptFunction("record_route_preset", parameters: 1...2, routes: insertRoutes, fixup: fixupPreset),
            ScriptFunction(
                "record_route_advertised_address", parameters: 1, routes: insertRoutes, fixup: fixupAdvertised),
            ScriptFunction("add_rr_param", parameters: 1, routes: insertRoutes, fixup: fixupAddParam),
            ScriptFunction("check_route_param", parameters: 1, routes: .request, fixup: fixupCheckRouteParam),
            ScriptFunction("is_direction", parameters: 1, routes: .request, fixup: fixupIsDirection),
            ScriptFunction("remove_record_route", parameters: 0, routes: [.request, .failure]) {
                (_: [ScriptArgument]) throws(FixupError) in
                { ctx in self.removeRecordRoute(ctx) }
            },
            ScriptFunction("rr_next_hop_route", parameters: 0, routes: .any) {
                (_: [ScriptArgument]) throws(FixupError) in
                { ctx in ctx.internalFlags & MessageFlag.routeAddress != 0 ? 1 : -1 }
            },
        ]
        e.pseudoVariables = [
            PseudoVariableClass("route_uri", make: makeRouteURI),
            PseudoVariableClass.readOnly("fti") { ctx in self.initialTag(ctx, from: true) },
            PseudoVariableClass.readOnly("tti") { ctx in self.initialTag(ctx, from: false) },
            PseudoVariableClass("rdir", make: makeDirection),
        ]
        e.initialize = { (_: ModuleInitContext) throws(FixupError) in
            // Kamailio refuses only a spec that does not parse; any PV is then read as the user.
            if let spec = self.customUserSpec, self.customUser == nil {
                do {
                    self.customUser = try PseudoVariableRegistry.shared.compile(spec)
                } catch {
                    throw FixupError("malformed or non AVP custom_user AVP definition in '\(spec)'")
                }
            }
        }
        e.provide(self, as: RecordRouteAPI.self)
        return e
    }

    /// `loose_route_mode(mode)`: mode 0 is `loose_route()`; any other value skips the
    /// strict-router handling of a Request-URI that is this server.
    func fixupLooseRouteMode(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let mode = try args[0].intParameter()
        return { ctx in
            guard let m = mode.value(ctx) else {
                Log.error("rr", "failed to get the mode parameter")
                return -1
            }
            return self.looseRoute(ctx, mode: m)
        }
    }
}

/// Kamailio's `msg_flags` bits that rr uses (`FL_RR_ADDED`, `FL_ROUTE_ADDR`).
enum MessageFlag {
    static let recordRouteAdded: UInt32 = 1 << 18
    static let routeAddress: UInt32 = 1 << 25
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "rr") { RRModule().exports }
}
