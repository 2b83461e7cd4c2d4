import SwiftletSDK

/// The `siputils` module (Kamailio's `modules/siputils`): message and URI tests
/// (`has_totag`, `is_request`, `uri_param`, `is_e164`, ...), Request-URI parameter edits and
/// `options_reply`.
final class SiputilsModule {
    /// `options_accept`, `options_accept_encoding`, `options_accept_language`,
    /// `options_support`: the headers of `options_reply()`.
    var accept = "*/*"
    var acceptEncoding = ""
    var acceptLanguage = "en"
    var supported = ""
    /// The sl module's API, bound in `mod_init`.
    var sl: StatelessReplyAPI?

    var exports: ModuleExports {
        let e = ModuleExports(name: "siputils")
        e.parameters = [
            ModuleParameter("options_accept", .string { (v: String) throws(FixupError) in self.accept = v }),
            ModuleParameter(
                "options_accept_encoding", .string { (v: String) throws(FixupError) in self.acceptEncoding = v }),
            ModuleParameter(
                "options_accept_language", .string { (v: String) throws(FixupError) in self.acceptLanguage = v }),
            ModuleParameter("options_support", .string { (v: String) throws(FixupError) in self.supported = v }),
        ]
        e.functions = messageFunctions + uriFunctions + stringFunctions
        e.initialize = { (context: ModuleInitContext) throws(FixupError) in
            self.sl = try context.requireAPI(StatelessReplyAPI.self, by: "siputils", from: "sl")
        }
        return e
    }

    var messageFunctions: [ScriptFunction] {
        [
            ScriptFunction("has_totag", parameters: 0, routes: .any, fixup: fixupHasToTag),
            ScriptFunction("is_request", parameters: 0, routes: .any, fixup: fixupIsRequest),
            ScriptFunction("is_reply", parameters: 0, routes: .any, fixup: fixupIsReply),
            ScriptFunction("options_reply", parameters: 0, routes: .request, fixup: fixupOptionsReply),
            ScriptFunction("is_first_hop", parameters: 0...1, routes: .any, fixup: fixupIsFirstHop),
        ]
    }

    var uriFunctions: [ScriptFunction] {
        let routes: RouteTypes = [.request, .branch, .failure]
        return [
            ScriptFunction("uri_param", parameters: 1...2, routes: routes, fixup: fixupURIParam),
            ScriptFunction("uri_param_any", parameters: 1, routes: routes, fixup: fixupURIParamAny),
            ScriptFunction("uri_param_rm", parameters: 1, routes: routes, fixup: fixupURIParamRemove),
            ScriptFunction("add_uri_param", parameters: 1, routes: .request, fixup: fixupAddURIParam),
            ScriptFunction("is_uri", parameters: 1, routes: .any, fixup: fixupIsURI),
            ScriptFunction("is_e164", parameters: 1, routes: [.request, .failure, .local], fixup: fixupIsE164),
            ScriptFunction("is_uri_user_e164", parameters: 1, routes: .any, fixup: fixupIsURIUserE164),
        ]
    }

    var stringFunctions: [ScriptFunction] {
        [
            ScriptFunction("is_numeric", parameters: 1, routes: .any, fixup: fixupIsNumeric),
            ScriptFunction("is_alphanum", parameters: 1, routes: .any, fixup: fixupIsAlphanum),
            ScriptFunction("is_alphanumex", parameters: 2, routes: .any, fixup: fixupIsAlphanumEx),
            ScriptFunction("is_tel_number", parameters: 1, routes: .any, fixup: fixupIsTelNumber),
        ]
    }

    // MARK: message tests

    /// `has_totag()`: 1 when the To header has a non-empty tag.
    func fixupHasToTag(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        return { ctx in
            // The tag's range, not its text: this runs for every request of the usual script.
            guard let tag = ctx.toTagRange, !tag.isEmpty else { return -1 }
            return 1
        }
    }

    func fixupIsRequest(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        return { ctx in ctx.message.isRequest ? 1 : -1 }
    }

    func fixupIsReply(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        return { ctx in ctx.message.isRequest ? -1 : 1 }
    }

    /// `options_reply()`: answers an OPTIONS whose Request-URI has no user with `200 OK`
    /// carrying `Accept`, `Accept-Encoding`, `Accept-Language` and `Supported` (the module
    /// parameters); -1 for other requests.
    func fixupOptionsReply(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        // Bound in mod_init; also here for configurations loaded without starting the server.
        if sl == nil { sl = CoreContext.current.apis.lookup(StatelessReplyAPI.self) }
        return { ctx in
            guard MethodName.isOptions(ctx.message) else {
                Log.error("siputils", "called for non-OPTIONS request")
                return -1
            }
            guard let uri = RequestURI(ctx) else {
                Log.error("siputils", "ERROR while parsing the R-URI")
                return -1
            }
            guard uri.parts.user.map({ $0.isEmpty }) ?? true else {
                Log.error("siputils", "ruri contains username")
                return -1
            }
            let headers =
                "Accept: \(self.accept)\r\nAccept-Encoding: \(self.acceptEncoding)\r\n"
                + "Accept-Language: \(self.acceptLanguage)\r\nSupported: \(self.supported)\r\n"
            ctx.replyLumps.appendHeader(Array(headers.utf8))
            guard let sl = self.sl, sl.sendReply(ctx, code: 200, reason: "OK") > 0 else {
                Log.error("siputils", "failed to send 200 via send_reply")
                return -1
            }
            return 1
        }
    }
}

/// Method tests by name, case-insensitive as Kamailio's method parser.
enum MethodName {
    static func isOptions(_ msg: SIPMessage) -> Bool {
        guard case .request(_, let r, _) = msg.firstLine else { return false }
        return String(decoding: msg.buffer[r], as: UTF8.self).uppercased() == "OPTIONS"
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "siputils") { SiputilsModule().exports }
}
