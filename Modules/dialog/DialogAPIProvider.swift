import SwiftletSDK

/// The module's `DialogAPI` for other modules (Kamailio's `load_dlg`).
extension DialogModule: DialogAPI {
    func registerCallback(_ types: DialogCallbackTypes, _ callback: @escaping (DialogEvent) -> Void) {
        callbacks.append((types, callback))
    }

    func dialog(for context: MessageContext) -> DialogSnapshot? {
        messageDialog(context).map { d in table.locked(d.dialog) { d.dialog.snapshot } }
    }

    func dialog(callID: String, fromTag: String, toTag: String) -> DialogSnapshot? {
        table.search(callID: callID, fromTag: fromTag, toTag: toTag).map { d in table.locked(d.0) { d.0.snapshot } }
    }

    @discardableResult
    func setVariable(hashEntry: UInt32, hashID: UInt32, key: String, value: String?) -> Bool {
        guard let d = table.lookup(entry: hashEntry, id: hashID) else { return false }
        table.locked(d) { d.setVariable(key, value) }
        if settings.dbMode == 1 { storeVariables(d) }
        return true
    }

    @discardableResult
    func terminate(hashEntry: UInt32, hashID: UInt32, headers: String) -> Bool {
        guard let d = table.lookup(entry: hashEntry, id: hashID) else { return false }
        return byeAll(d, headers: headers)
    }
}
