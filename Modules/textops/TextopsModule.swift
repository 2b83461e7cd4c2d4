import SwiftletSDK

/// The `textops` module (Kamailio's `modules/textops`): regular-expression search and
/// replace over the message, adding and removing header fields, body and reply-body edits,
/// method and string tests. Edits are recorded as lumps on `ctx.edits` (applied when the
/// message is sent on); regular expressions always run on the message as received, as in
/// Kamailio.
final class TextopsModule {
    var exports: ModuleExports {
        let e = ModuleExports(name: "textops")
        e.functions = searchFunctions + headerFunctions + bodyFunctions + testFunctions
        return e
    }

    var searchFunctions: [ScriptFunction] {
        let reply: RouteTypes = [.request, .onReply, .failure, .branch]
        return [
            ScriptFunction("search", parameters: 1, routes: .any, fixup: fixupSearch),
            ScriptFunction("search_body", parameters: 1, routes: .any, fixup: fixupSearchBody),
            ScriptFunction("search_append", parameters: 2, routes: .any, fixup: fixupSearchAppend),
            ScriptFunction("replace", parameters: 2, routes: .any, fixup: fixupReplace),
            ScriptFunction("replace_all", parameters: 2, routes: .any, fixup: fixupReplaceAll),
            ScriptFunction("replace_body", parameters: 2, routes: .any, fixup: fixupReplaceBody),
            ScriptFunction("replace_body_all", parameters: 2, routes: .any, fixup: fixupReplaceBodyAll),
            ScriptFunction("subst", parameters: 1, routes: .any, fixup: fixupSubst),
            ScriptFunction("subst_body", parameters: 1, routes: .any, fixup: fixupSubstBody),
            ScriptFunction("subst_uri", parameters: 1, routes: reply, fixup: fixupSubstURI),
            ScriptFunction("subst_user", parameters: 1, routes: reply, fixup: fixupSubstUser),
        ]
    }

    var headerFunctions: [ScriptFunction] {
        [
            ScriptFunction("append_hf", parameters: 1...2, routes: .any, fixup: fixupAppendHeader),
            ScriptFunction("insert_hf", parameters: 1...2, routes: .any, fixup: fixupInsertHeader),
            ScriptFunction("remove_hf", parameters: 1, routes: .any, fixup: fixupRemoveHeader),
            ScriptFunction("remove_hf_re", parameters: 1, routes: .any, fixup: fixupRemoveHeaderRegex),
            ScriptFunction("remove_hf_idx", parameters: 2, routes: .any, fixup: fixupRemoveHeaderIndex),
            ScriptFunction("is_present_hf", parameters: 1, routes: .any, fixup: fixupIsPresent),
            ScriptFunction("is_present_hf_re", parameters: 1, routes: .any, fixup: fixupIsPresentRegex),
            ScriptFunction("search_hf", parameters: 3, routes: .any, fixup: fixupSearchHeader),
        ]
    }

    var bodyFunctions: [ScriptFunction] {
        let local: RouteTypes = [.request, .failure, .branch]
        return [
            ScriptFunction("set_body", parameters: 2, routes: local.union(.onReply), fixup: fixupSetBody),
            ScriptFunction("set_reply_body", parameters: 2, routes: local, fixup: fixupSetReplyBody),
            ScriptFunction("append_to_reply", parameters: 1, routes: local, fixup: fixupAppendToReply),
            ScriptFunction("has_body", parameters: 0...1, routes: .any, fixup: fixupHasBody),
        ]
    }

    var testFunctions: [ScriptFunction] {
        [
            ScriptFunction("is_method", parameters: 1, routes: .any, fixup: fixupIsMethod),
            ScriptFunction("cmp_str", parameters: 2, routes: .any, fixup: fixupCmpStr),
            ScriptFunction("cmp_istr", parameters: 2, routes: .any, fixup: fixupCmpIStr),
            ScriptFunction("starts_with", parameters: 2, routes: .any, fixup: fixupStartsWith),
            ScriptFunction("in_list", parameters: 3, routes: .any, fixup: fixupInList),
        ]
    }

    /// A regular expression argument (a constant), compiled at start-up.
    static func regex(_ arg: ScriptArgument) throws(FixupError) -> POSIXRegex {
        let text = try arg.constantString()
        do {
            return try POSIXRegex(text)
        } catch {
            throw FixupError(error.message, at: arg.location)
        }
    }

    /// A `/re/replacement/flags` argument (a constant), compiled at start-up.
    static func subst(_ arg: ScriptArgument) throws(FixupError) -> SubstExpression {
        let text = try arg.constantString()
        do {
            return try SubstExpression(text)
        } catch {
            throw FixupError("bad subst. re: \(error.message)", at: arg.location)
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "textops") { TextopsModule().exports }
}
