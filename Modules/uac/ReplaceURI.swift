import SwiftletSDK

/// `uac_replace_from/to()`, `uac_restore_from/to()`, the automatic restore of in-dialog
/// requests (rr callback) and of the replies (tm callback): Kamailio's `replace.c`.
extension UACModule {
    var replaceFunctions: [ScriptFunction] {
        let replaceRoutes: RouteTypes = [.request, .branch]
        return [
            ScriptFunction("uac_replace_from", parameters: 1...2, routes: replaceRoutes) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupReplace(args, from: true)
            },
            ScriptFunction("uac_replace_to", parameters: 1...2, routes: replaceRoutes) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                try self.fixupReplace(args, from: false)
            },
            ScriptFunction("uac_restore_from", parameters: 0, routes: .request) { (_: [ScriptArgument]) in
                { ctx in
                    guard ctx.message.isRequest else { return -1 }
                    return self.restoreURI(ctx, from: true) ? 1 : -1
                }
            },
            ScriptFunction("uac_restore_to", parameters: 0, routes: .request) { (_: [ScriptArgument]) in
                { ctx in
                    guard ctx.message.isRequest else { return -1 }
                    return self.restoreURI(ctx, from: false) ? 1 : -1
                }
            },
        ]
    }

    private func fixupReplace(_ args: [ScriptArgument], from: Bool) throws(FixupError) -> ScriptAction {
        let display = args.count == 2 ? try args[0].stringFormat() : nil
        let uri = try args[args.count - 1].stringFormat()
        return { ctx in
            self.replaceURI(ctx, display: display?.render(ctx), uri: uri.render(ctx), from: from) ? 1 : -1
        }
    }

    /// The header (From or To) of the received message and its parsed value.
    private func header(_ m: SIPMessage, from: Bool) -> (field: HeaderField, value: NameAddr)? {
        guard let f = m.firstHeader(from ? .from : .to), let v = try? NameAddr.parse(m.buffer, f.valueRange) else {
            return nil
        }
        return (f, v)
    }

    /// Kamailio's `replace_uri()`: new display name (nil: untouched, "": removed) and URI
    /// ("" : untouched); with restore on, the old URI goes into a Record-Route parameter
    /// and the replies get the header back.
    func replaceURI(_ ctx: MessageContext, display: String?, uri: String, from: Bool) -> Bool {
        let name = from ? "from" : "to"
        let flag = from ? UACFlag.useFrom : UACFlag.useTo
        if ctx.routeType == .request, ctx.internalFlags & flag != 0 {
            Log.error("uac", "called uac_replace_\(name)() multiple times on the message")
            return false
        }
        let m = ctx.message
        guard let (_, body) = header(m, from: from) else {
            Log.error("uac", "failed to find/parse \(from ? "FROM" : "TO") hdr")
            return false
        }
        if restoreMode == .auto, !uri.isEmpty {
            guard m.firstHeader(.to) != nil else {
                Log.error("uac", "failed to parse TO hdr")
                return false
            }
            if !(m.toTag ?? "").isEmpty {
                Log.error("uac", "decline FROM replacing in sequential request in auto mode (has TO tag)")
                return false
            }
        }
        let b = m.buffer
        if let display {
            var displayDone = false
            if let old = body.displayName {
                var end = old.upperBound
                if display.isEmpty { while end < b.count, b[end] == UInt8(ascii: " ") { end += 1 } }
                ctx.edits.replace(old.lowerBound..<end, with: Array(display.utf8))
                displayDone = true
            }
            if !display.isEmpty, !displayDone {
                if body.isNameAddr,
                    let lt = (body.range.lowerBound..<body.uri.lowerBound).last(where: {
                        b[$0] == UInt8(ascii: "<")
                    })
                {
                    ctx.edits.insert(Array((display + " ").utf8), at: lt)
                } else {
                    // Not enclosed: the brackets come with the display name.
                    ctx.edits.insert(Array(">".utf8), at: body.uri.upperBound)
                    ctx.edits.insert(Array((display + " <").utf8), at: body.uri.lowerBound)
                }
            }
        }
        guard !uri.isEmpty else { return true }
        var newURI = uri
        if !body.isNameAddr, uri.dropFirst().contains(";") { newURI = "<" + uri + ">" }
        ctx.edits.replace(body.uri, with: Array(newURI.utf8))
        guard restoreMode != .none else { return true }
        guard let rr, rr.appendsFromTag else {
            Log.error("uac", "'append_fromtag' RR param is not enabled! - required by AUTO restore mode")
            return false
        }
        let value = StoredURI.encode(old: Array(b[body.uri]), new: Array(uri.utf8), password: restorePassword)
        let parameter = ";" + (from ? fromParameter : toParameter) + "=" + value
        guard rr.addRecordRouteParameter(ctx, parameter) > 0 else {
            Log.error("uac", "add_RR_param failed")
            return false
        }
        if ctx.internalFlags & (UACFlag.useFrom | UACFlag.useTo) == 0 {
            tm?.register(.responseIn, for: ctx) { event in self.restoreInReply(event) }
        }
        ctx.internalFlags |= flag
        return true
    }

    /// Kamailio's `restore_uri()`: the URI stored in our Route parameter goes back into the
    /// From (To for a request going upstream when it was the From that changed, and the
    /// other way round). True when restored.
    func restoreURI(_ ctx: MessageContext, from: Bool) -> Bool {
        guard let rr else { return false }
        let parameter = from ? fromParameter : toParameter
        guard let value = rr.routeParameterValue(ctx, parameter), !value.isEmpty,
            let decoded = StoredURI.decode(Array(value.utf8))
        else { return false }
        guard rr.addRecordRouteParameter(ctx, ";" + parameter + "=" + value) > 0 else {
            Log.error("uac", "add rr param failed")
            return false
        }
        let intoTo = from ? rr.isDirection(ctx, .upstream) == 1 : rr.isDirection(ctx, .downstream) == 1
        guard let (_, body) = header(ctx.message, from: !intoTo) else { return false }
        let current = Array(ctx.message.buffer[body.uri])
        guard let restored = StoredURI.restore(stored: decoded, current: current, password: restorePassword) else {
            Log.warning(
                "uac", "cannot restore the \(intoTo ? "To" : "From") URI from the '\(parameter)' Route parameter")
            return false
        }
        ctx.edits.replace(body.uri, with: restored)
        ctx.internalFlags |= intoTo ? UACFlag.useTo : UACFlag.useFrom
        return true
    }

    /// rr callback in auto mode (Kamailio's `rr_checker`): restore both, and the replies.
    func restoreOnLooseRoute(_ ctx: MessageContext) {
        let a = restoreURI(ctx, from: true)
        let b = restoreURI(ctx, from: false)
        if a || b { tm?.register(.responseIn, for: ctx) { event in self.restoreInReply(event) } }
    }

    /// Kamailio's `restore_uris_reply`: the reply's From/To become the request's as
    /// received (from the value's start to the end of the URI and its `>`).
    func restoreInReply(_ event: TransactionEvent) {
        guard let rctx = event.replyContext else { return }
        let request = event.request
        let flags = request.internalFlags
        for from in [true, false] where flags & (from ? UACFlag.useFrom : UACFlag.useTo) != 0 {
            guard let (_, original) = header(request.message, from: from),
                let (_, current) = header(rctx.message, from: from)
            else {
                Log.error("uac", "failed to restore \(from ? "FROM" : "TO")")
                continue
            }
            let value = Array(request.message.buffer[Self.uriPart(request.message.buffer, original)])
            rctx.edits.replace(Self.uriPart(rctx.message.buffer, current), with: value)
        }
    }

    /// From the value's start to the end of the URI, with the spaces and `>` after it.
    static func uriPart(_ b: [UInt8], _ v: NameAddr) -> Range<Int> {
        var end = v.uri.upperBound
        var i = end
        while i < b.count, b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "\t") { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: ">") { end = i + 1 }
        return v.range.lowerBound..<end
    }
}
