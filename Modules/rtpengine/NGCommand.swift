/// rtpengine's ng operations, with Kamailio's command strings.
enum NGOperation: String {
    case offer, answer, delete, query, ping
    case startRecording = "start recording"
    case stopRecording = "stop recording"
}

/// A flags string of `rtpengine_offer()` and friends turned into ng dictionary members,
/// as Kamailio's `parse_flags` does: known flags go to their lists (`flags`, `replace`,
/// `direction`, `SDES`, `T.38`, `rtcp-mux`, `codec`), `key=value` pairs become
/// dictionary members, transport flags give `transport-protocol`, and `call-id`,
/// `from-tag`, `to-tag`, `via-branch` override what is taken from the message.
struct NGFlags {
    var members: [(String, Bencode)] = []
    var flags: [String] = []
    var direction: [String] = []
    var replace: [String] = []
    var rtcpMux: [String] = []
    var sdes: [String] = []
    var t38: [String] = []
    var codec: [(String, [String])] = []
    var transport = 0
    var callID: String?
    var fromTag: String?
    var toTag: String?
    /// `to-tag` given (with or without a value): send the To tag.
    var to = false
    var directional = false
    /// `via-branch=`: 1, 2, 3 auto, -1 extra, -2 next, -3 auto-next, -4 auto-extra; 0 none.
    var via = 0

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let transports: [Int: String] = [
        0: "RTP/AVP", 1: "RTP/SAVP", 2: "RTP/AVPF", 3: "RTP/SAVPF", 4: "UDP/TLS/RTP/SAVP", 6: "UDP/TLS/RTP/SAVPF",
    ]

    /// Parses `text`; `op` may become `.answer` with `force-answer` in an offer.
    init(_ text: String?, op: inout NGOperation) throws(Failure) {
        guard let text else { return }
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            let key: Substring
            let value: Substring?
            if let eq = word.firstIndex(of: "=") {
                key = word[..<eq]
                value = word[word.index(after: eq)...]
            } else {
                key = word
                value = nil
            }
            guard !key.isEmpty else { break }
            try add(String(key), value.map(String.init), op: &op)
        }
    }

    /// Kamailio's `str_key_val_prefix`: `name-X` gives X, `name=X` gives X.
    static func prefixed(_ key: String, _ name: String, _ value: String?) -> String? {
        if key == name { return value?.isEmpty == false ? value : nil }
        guard key.hasPrefix(name + "-"), key.count >= name.count + 2 else { return nil }
        return String(key.dropFirst(name.count + 1))
    }

    private mutating func addCodec(_ list: String, _ item: String) {
        if let i = codec.firstIndex(where: { $0.0 == list }) {
            codec[i].1.append(item)
        } else {
            codec.append((list, [item]))
        }
    }

    private mutating func add(_ key: String, _ value: String?, op: inout NGOperation) throws(Failure) {
        if let s = Self.prefixed(key, "replace", value) { return replace.append(s) }
        if let s = Self.prefixed(key, "SDES", value) { return sdes.append(s) }
        if let s = Self.prefixed(key, "T38", value) ?? Self.prefixed(key, "T.38", value) { return t38.append(s) }
        if let s = Self.prefixed(key, "rtcp-mux", value) { return rtcpMux.append(s) }
        let codecFlags: [(String, String?, String)] = [
            ("transcode", "codec-transcode", "transcode"), ("codec-strip", nil, "strip"),
            ("codec-offer", nil, "offer"), ("codec-mask", nil, "mask"), ("codec-set", nil, "set"),
            ("codec-except", nil, "except"),
        ]
        for (first, second, list) in codecFlags {
            if let s = Self.prefixed(key, first, value) ?? second.flatMap({ Self.prefixed(key, $0, value) }) {
                return addCodec(list, s)
            }
        }
        switch key {
        case "RTP" where value == nil: transport = (transport | 0x100) & ~0x001
        case "AVP" where value == nil: transport = (transport | 0x100) & ~0x002
        case "TOS" where value != nil: members.append(("TOS", .integer(Int(value!) ?? 0)))
        case "SRTP" where value == nil: transport |= 0x101
        case "AVPF" where value == nil: transport |= 0x102
        case "DTLS" where value == nil: transport |= 0x104
        case "to-tag":
            if let value { toTag = value }
            to = true
        case "RTP/AVP" where value == nil: transport = 0x100
        case "call-id":
            guard let value else { throw Failure(description: "error processing flag `call-id': missing value") }
            callID = value
        case "internal", "external": direction.append(key)
        case "RTP/AVPF" where value == nil: transport = 0x102
        case "RTP/SAVP" where value == nil: transport = 0x101
        case "from-tag":
            guard let value else { throw Failure(description: "error processing flag `from-tag': missing value") }
            fromTag = value
            directional = true
        case "RTP/SAVPF" where value == nil: transport = 0x103
        case "direction" where value != nil: direction.append(value!)
        case "via-branch":
            guard let value else { throw Failure(description: "error processing flag `via-branch': missing value") }
            switch value {
            case _ where value.hasPrefix("1"): via = 1
            case _ where value.hasPrefix("2"): via = 2
            case "auto": via = 3
            case "extra": via = -1
            case "next": via = -2
            case "auto-next", "next-auto": via = -3
            case "auto-extra", "extra-auto": via = -4
            default:
                throw Failure(description: "error processing flag `via-branch' (value '\(value)'): invalid value")
            }
        case "repacketize":
            guard let value else { throw Failure(description: "error processing flag `repacketize': missing value") }
            let n = Int(value.prefix { $0.isNumber }) ?? 0
            guard n > 0 else {
                throw Failure(description: "error processing flag `repacketize' (value '\(value)'): invalid value")
            }
            members.append(("repacketize", .integer(n)))
        case "directional": directional = true
        case "force-answer":
            guard op == .offer else {
                throw Failure(
                    description: "error processing flag `force-answer': cannot force answer in non-offer command")
            }
            op = .answer
        case "delete-delay" where value != nil: members.append(("delete delay", .integer(Int(value!) ?? 0)))
        case "UDP/TLS/RTP/SAVP" where value == nil: transport = 0x104
        case "UDP/TLS/RTP/SAVPF" where value == nil: transport = 0x106
        default:
            if let value {
                members.append((key, .text(value)))
            } else {
                flags.append(key)
            }
        }
    }

    /// The list and dictionary members that follow the generic ones, in Kamailio's order.
    var listMembers: [(String, Bencode)] {
        var out: [(String, Bencode)] = []
        func list(_ name: String, _ items: [String]) {
            if !items.isEmpty { out.append((name, .list(items.map(Bencode.text)))) }
        }
        list("direction", direction)
        list("flags", flags)
        list("replace", replace)
        if !codec.isEmpty { out.append(("codec", .dictionary(codec.map { ($0.0, .list($0.1.map(Bencode.text))) }))) }
        if transport & 0x100 != 0, let t = Self.transports[transport & 0x007] {
            out.append(("transport-protocol", .text(t)))
        }
        list("rtcp-mux", rtcpMux)
        list("SDES", sdes)
        list("T.38", t38)
        return out
    }
}
