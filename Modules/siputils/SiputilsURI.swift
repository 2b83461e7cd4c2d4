import SwiftletSDK

/// The Request-URI in effect (`$ru`: the one set by the script, else the received one),
/// parsed (Kamailio's `parse_sip_msg_uri`).
struct RequestURI {
    let text: String
    let bytes: [UInt8]
    let parts: URIComponents

    init?(_ ctx: MessageContext) {
        guard let t = ctx.requestURI else { return nil }
        self.init(text: t)
    }

    init?(text t: String) {
        text = t
        bytes = Array(t.utf8)
        guard let p = try? URIComponents.parse(bytes, 0..<bytes.count) else { return nil }
        parts = p
    }

    /// The parameters as (name, value) byte ranges; a quoted value without its quotes.
    var parameters: [(name: Range<Int>, value: Range<Int>?, whole: Range<Int>)] {
        parts.parameters(bytes).map { p in
            var v = p.value
            if let r = v, r.count >= 2, bytes[r.lowerBound] == 34, bytes[r.upperBound - 1] == 34 {
                v = (r.lowerBound + 1)..<(r.upperBound - 1)
            }
            return (p.name, v, p.range)
        }
    }

    func string(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }
}

/// Request-URI parameter functions and URI tests.
extension SiputilsModule {
    /// `uri_param(name[, value])`: 1 when the Request-URI has the parameter (case-sensitive
    /// name) without a value, or with exactly `value`.
    func fixupURIParam(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let name = try args[0].stringFormat()
        let value = args.count > 1 ? try args[1].stringFormat() : nil
        return { ctx in
            guard let uri = RequestURI(ctx) else {
                Log.error("siputils", "ruri parsing failed")
                return -1
            }
            let n = name.render(ctx)
            guard let p = uri.parameters.first(where: { uri.string($0.name) == n }) else { return -1 }
            let actual = p.value.map(uri.string) ?? ""
            if let value { return actual == value.render(ctx) ? 1 : -1 }
            return actual.isEmpty ? 1 : -1
        }
    }

    /// `uri_param_any(name)`: 1 when the Request-URI has the parameter (case-insensitive),
    /// with or without a value.
    func fixupURIParamAny(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let name = try args[0].stringFormat()
        return { ctx in
            guard let uri = RequestURI(ctx) else { return -1 }
            let n = name.render(ctx).lowercased()
            return uri.parameters.contains { uri.string($0.name).lowercased() == n } ? 1 : -1
        }
    }

    /// `uri_param_rm(name)`: removes the parameter (case-insensitive name) from the
    /// Request-URI; 1 also when it is not there.
    func fixupURIParamRemove(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let name = try args[0].stringFormat()
        return { ctx in
            guard let uri = RequestURI(ctx) else {
                Log.error("siputils", "failed to parse r-uri")
                return -1
            }
            let n = name.render(ctx).lowercased()
            guard let p = uri.parameters.first(where: { uri.string($0.name).lowercased() == n }) else { return 1 }
            var start = p.name.lowerBound
            while start > 0, uri.bytes[start] != UInt8(ascii: ";") { start -= 1 }
            var end = p.value?.upperBound ?? p.name.upperBound
            if end < uri.bytes.count, uri.bytes[end] == 34, p.value != nil { end += 1 }
            ctx.newRequestURI = String(decoding: uri.bytes[..<start] + uri.bytes[end...], as: UTF8.self)
            return 1
        }
    }

    /// `add_uri_param(param)`: appends `;param` to the Request-URI (before its `?headers`).
    func fixupAddURIParam(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let param = try args[0].constantString()
        return { ctx in
            guard !param.isEmpty else { return 1 }
            guard let uri = RequestURI(ctx) else {
                Log.error("siputils", "ruri parsing failed")
                return -1
            }
            if let headers = uri.parts.headers {
                let q = headers.lowerBound - 1
                ctx.newRequestURI = uri.string(0..<q) + ";" + param + uri.string(q..<uri.bytes.count)
            } else {
                ctx.newRequestURI = uri.text + ";" + param
            }
            return 1
        }
    }

    /// `is_uri(text)`: 1 when the text is a SIP, SIPS, TEL, TELS or URN URI.
    func fixupIsURI(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let text = try args[0].stringFormat()
        return { ctx in
            guard let uri = RequestURI(text: text.render(ctx)) else { return -1 }
            switch uri.parts.scheme {
            case .sip, .sips, .tel: return 1
            case .other:
                let s = uri.string(uri.parts.schemeRange).lowercased()
                return s == "tels" || s == "urn" ? 1 : -1
            }
        }
    }

    /// `is_e164(pv)`: 1 when the value is `+` and 2 to 15 digits.
    func fixupIsE164(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let pv = try args[0].pseudoVariable()
        return { ctx in
            guard case .string(let s)? = pv.value(ctx), !s.isEmpty else { return -1 }
            return Self.isE164(Array(s.utf8)[...]) ? 1 : -1
        }
    }

    /// `is_uri_user_e164(pv)`: 1 when the user part of the URI in the value is E.164.
    func fixupIsURIUserE164(_ args: [ScriptArgument]) throws(FixupError) -> ScriptAction {
        let pv = try args[0].pseudoVariable()
        return { ctx in
            guard case .string(let s)? = pv.value(ctx), !s.isEmpty else { return -1 }
            let b = Array(s.utf8)
            guard let colon = b.firstIndex(of: UInt8(ascii: ":")) else { return -1 }
            guard let at = b[(colon + 1)...].firstIndex(of: UInt8(ascii: "@")) else { return -1 }
            return Self.isE164(b[(colon + 1)..<at]) ? 1 : -1
        }
    }

    /// Kamailio's `e164_check`: `+` then digits, 3 to 16 characters in all.
    static func isE164(_ s: ArraySlice<UInt8>) -> Bool {
        guard s.count > 2, s.count < 17, s.first == UInt8(ascii: "+") else { return false }
        return s.dropFirst().allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}
