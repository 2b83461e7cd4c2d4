import SwiftletSDK

/// The `alias` parameter (`;alias=ip~port~proto`) read back: `handle_ruri_alias`,
/// `set_alias_to_pv` and the trimming of `set_contact_alias(1)`.
enum AliasParameter {
    /// A decoded alias value.
    struct Target: Equatable {
        var hostPort: String
        var port: String
        var proto: Int

        /// `sip:ip:port`, with `;transport=` unless UDP (Kamailio's `$du` from an alias).
        var destinationURI: String? {
            if proto == 1 { return "sip:\(hostPort)" }
            guard let name = NATAddresses.transportName(proto) else { return nil }
            return "sip:\(hostPort);transport=\(name)"
        }
    }

    /// `handle_ruri_alias([mode])`: the first (mode 0) or last alias parameter of the
    /// Request-URI becomes `$du` and is removed from the Request-URI. 2 when there is none.
    static func handleRequestURI(_ ctx: MessageContext, mode: Int, name: String) -> Int {
        guard let ruri = ctx.requestURI else { return -1 }
        let bytes = Array(ruri.utf8)
        guard let parts = try? URIComponents.parse(bytes, 0..<bytes.count) else {
            Log.error("nathelper", "while parsing Request-URI")
            return -1
        }
        // The parameters after the first ';' (Kamailio's sip_params).
        let params = parts.parametersRange
        var position = params.lowerBound
        if position < params.upperBound, bytes[position] == UInt8(ascii: ";") { position += 1 }
        guard position < params.upperBound else { return 2 }
        let key = Array("\(name)=".utf8)
        var start: Int? = nil
        while params.upperBound - position > key.count + 4 {
            if bytes[position..<position + key.count].elementsEqual(key) {
                start = position
                if mode == 0 { break }
            }
            guard let semicolon = bytes[position..<params.upperBound].firstIndex(of: UInt8(ascii: ";")) else { break }
            position = semicolon + 1
        }
        guard let start else { return 2 }
        let value = start + key.count
        let tilde = UInt8(ascii: "~")
        guard let firstTilde = bytes[value..<params.upperBound].firstIndex(of: tilde) else {
            Log.error("nathelper", "no '~' in alias param value")
            return -1
        }
        guard let secondTilde = bytes[(firstTilde + 1)..<params.upperBound].firstIndex(of: tilde) else {
            Log.error("nathelper", "no second '~' in alias param value")
            return -1
        }
        let protoAt = secondTilde + 1
        guard protoAt < params.upperBound, bytes[protoAt] != UInt8(ascii: ";"), bytes[protoAt] != UInt8(ascii: "?")
        else {
            Log.error("nathelper", "no proto in alias param")
            return -1
        }
        let proto = Int(bytes[protoAt]) - Int(UInt8(ascii: "0"))
        guard proto == 1 || NATAddresses.transportName(proto) != nil else {
            Log.error("nathelper", "unknown proto in alias param")
            return -1
        }
        if protoAt + 1 < params.upperBound, bytes[protoAt + 1] != UInt8(ascii: ";"),
            bytes[protoAt + 1] != UInt8(ascii: "?")
        {
            Log.error("nathelper", "invalid alias param value")
            return -1
        }
        let target = Target(
            hostPort: bytes.text(value..<firstTilde) + ":" + bytes.text((firstTilde + 1)..<secondTilde),
            port: bytes.text((firstTilde + 1)..<secondTilde), proto: proto)
        guard let du = target.destinationURI else { return -1 }
        ctx.destinationURI = du
        // The parameter with its ';' removed from the Request-URI.
        let removed = (start - 1)..<(protoAt + 1)
        ctx.newRequestURI = bytes.text(0..<removed.lowerBound) + bytes.text(removed.upperBound..<bytes.count)
        return 1
    }

    /// `set_alias_to_pv(pv)`: the alias parameter of the only Contact as
    /// `sip:ip:port;transport=proto`, or nil when there is none.
    static func aliasURI(_ msg: SIPMessage, name: String) -> String? {
        guard let contacts = try? msg.contacts(), contacts.count == 1 else {
            Log.error("nathelper", "Couldn't parse Contact Header")
            return nil
        }
        let text = Substring(msg.buffer.text(contacts[0].range))
        let key = ";\(name)="
        guard let at = text.firstRange(of: key) else {
            Log.error("nathelper", "Alias sign couldn't be found")
            return nil
        }
        let rest = text[at.upperBound...]
        guard let t1 = rest.firstIndex(of: "~") else {
            Log.error("nathelper", "No alias parameter found for host")
            return nil
        }
        let host = rest[..<t1]
        let afterHost = rest[rest.index(after: t1)...]
        guard !afterHost.isEmpty else {
            Log.error("nathelper", "Alias port is not set")
            return nil
        }
        guard let t2 = afterHost.firstIndex(of: "~") else {
            Log.error("nathelper", "Alias sign couldn't be found for proto")
            return nil
        }
        let port = afterHost[..<t2]
        let protoDigits = afterHost[afterHost.index(after: t2)...].prefix { $0.isNumber }
        let proto = NATAddresses.transportName(Int(protoDigits) ?? 0) ?? ""
        return "sip:\(host):\(port);transport=\(proto)"
    }

    /// Kamailio's `uri_trim_rcv_alias`: `uri` without its last well-formed alias parameter
    /// (`;alias=ip~port~d` at the end or before another parameter), or nil when it has none.
    static func trimmingLast(from uri: String, name: String) -> String? {
        let b = Array(uri.utf8)
        let key = Array(";\(name)=".utf8)
        guard b.count >= key.count + 16 else { return nil }
        var p = b.count - key.count - 11
        while p > 5 {
            if b[p..<p + key.count].elementsEqual(key) { break }
            p -= 1
        }
        guard p > 5 else { return nil }
        let value = p + key.count
        guard let t1 = b[value...].firstIndex(of: UInt8(ascii: "~")), t1 + 1 < b.count,
            let t2 = b[(t1 + 1)...].firstIndex(of: UInt8(ascii: "~")), t2 + 1 < b.count
        else { return nil }
        let end = t2 + 2
        guard end == b.count || b[end] == UInt8(ascii: ";") else { return nil }
        return b.text(0..<p) + b.text(end..<b.count)
    }
}
