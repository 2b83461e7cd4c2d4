import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// `remove_body()`, `keep_hf([regex])` and `fnmatch(value, pattern[, flags])`.
extension TextopsxModule {
    /// `remove_body()`: removes the body; the value of Content-Length becomes 0 (the header
    /// keeps its form, `l: 0`, and none is added when absent, as Kamailio does for UDP). 1,
    /// also when there is no body.
    func fixupRemoveBody(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        { ctx in
            let msg = ctx.message
            guard !msg.bodyRange.isEmpty else { return 1 }
            ctx.edits.delete(msg.bodyRange)
            if let length = msg.firstHeader(.contentLength) {
                ctx.edits.replace(length.valueRange, with: [UInt8(ascii: "0")])
            }
            return 1
        }
    }

    /// The header kinds `keep_hf` never removes.
    static let keptHeaders: Set<HeaderName> = [
        .from, .to, .callID, .cseq, .via, .contact, .contentLength, .contentType, .route, .recordRoute, .maxForwards,
    ]

    /// `keep_hf()` / `keep_hf(regex)`: removes every header except From, To, Call-ID, CSeq,
    /// Via, Contact, Content-Length, Content-Type, Route, Record-Route, Max-Forwards and,
    /// with a regex, those whose name matches it. Returns -1 even when it worked, as
    /// Kamailio 5.6.3 does.
    func fixupKeepHeaders(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let re: POSIXRegex?
        if let arg = args.first {
            let text = try arg.constantString()
            do {
                re = try POSIXRegex(text)
            } catch {
                throw FixupError(error.message, at: arg.location)
            }
        } else {
            re = nil
        }
        return { ctx in
            let msg = ctx.message
            for h in msg.headers where !Self.keptHeaders.contains(h.name) {
                if let re, re.matches(msg.buffer[h.nameRange]) { continue }
                ctx.edits.removeHeader(h)
            }
            return -1
        }
    }

    /// `fnmatch(value, pattern[, flags])`: 1 when `value` matches the shell wildcard
    /// `pattern` (fnmatch(3)); flags starting with `i` or `I` ignore case.
    func fixupFnmatch(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let value = try args[0].stringFormat()
        let pattern = try args[1].stringFormat()
        let flags = args.count > 2 ? try args[2].stringFormat() : nil
        return { ctx in
            var f: Int32 = 0
            if let first = flags?.render(ctx).utf8.first, first == UInt8(ascii: "i") || first == UInt8(ascii: "I") {
                f = Self.caseFold
            }
            return fnmatch(pattern.render(ctx), value.render(ctx), f) == 0 ? 1 : -1
        }
    }

    /// glibc's `FNM_CASEFOLD` (a GNU extension Swift does not import).
    static let caseFold: Int32 = 1 << 4
}
