import SwiftletSDK

/// The `textopsx` module (Kamailio's `modules/textopsx`): operations on the message that go
/// beyond textops — applying the pending edits to the message (`msg_apply_changes`),
/// rewriting the status line of a received reply, removing the body, keeping only some
/// headers, and shell-pattern matching.
final class TextopsxModule {
    var exports: ModuleExports {
        let e = ModuleExports(name: "textopsx")
        e.functions =
            messageFunctions + replyFunctions + editFunctions + valueFunctions + headerIteratorFunctions
            + lineIteratorFunctions
        e.pseudoVariables = [
            Self.iteratorVariable("hfitname", body: false), Self.iteratorVariable("hfitbody", body: true),
            Self.lineVariable,
        ]
        return e
    }

    var messageFunctions: [ScriptFunction] {
        [
            ScriptFunction(
                "msg_apply_changes", parameters: 0, routes: [.request, .onReply], fixup: fixupApplyChanges),
            ScriptFunction("msg_set_buffer", parameters: 1, routes: [.request, .onReply], fixup: fixupSetBuffer),
        ]
    }

    var replyFunctions: [ScriptFunction] {
        [
            ScriptFunction("change_reply_status", parameters: 2, routes: .onReply, fixup: fixupChangeReplyStatus),
            ScriptFunction(
                "change_reply_status_code", parameters: 1, routes: .onReply, fixup: fixupChangeReplyStatusCode),
        ]
    }

    var editFunctions: [ScriptFunction] {
        [
            ScriptFunction("remove_body", parameters: 0, routes: .any, fixup: fixupRemoveBody),
            ScriptFunction("keep_hf", parameters: 0...1, routes: .any, fixup: fixupKeepHeaders),
            ScriptFunction("fnmatch", parameters: 2...3, routes: .any, fixup: fixupFnmatch),
        ]
    }

    var valueFunctions: [ScriptFunction] {
        let r = Self.valueRoutes
        return [
            ScriptFunction("hf_value_exists", parameters: 2, routes: r, fixup: fixupValueExists),
            ScriptFunction("include_hf_value", parameters: 2, routes: r, fixup: fixupIncludeValue),
            ScriptFunction("exclude_hf_value", parameters: 2, routes: r, fixup: fixupExcludeValue),
            ScriptFunction("append_hf_value", parameters: 2, routes: r, fixup: fixupAppendValue),
            ScriptFunction("insert_hf_value", parameters: 2, routes: r, fixup: fixupInsertValue),
            ScriptFunction("remove_hf_value", parameters: 1, routes: r, fixup: fixupRemoveValue),
            ScriptFunction("assign_hf_value", parameters: 2, routes: r, fixup: fixupAssignValue),
            ScriptFunction("remove_hf_value2", parameters: 1, routes: r, fixup: fixupRemoveValue2),
            ScriptFunction("assign_hf_value2", parameters: 2, routes: r, fixup: fixupAssignValue2),
        ]
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "textopsx") { TextopsxModule().exports }
}
