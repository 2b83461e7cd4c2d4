import SwiftletSDK

/// To-tags of stateless replies, laid out as Kamailio's: a part fixed per server (32 hex
/// digits derived from a signature and the first listen address and port), a `.`, and
/// 8 hex digits of CRC-16 over the top Via (host, port, branch) and the Call-ID, so that
/// retransmissions get the same tag and the ACK to a negative reply can be recognised.
struct StatelessTag {
    static let length = 32 + 1 + 8
    let prefix: String

    init(firstListener: ListenAddress?) {
        prefix =
            TagHash.hex128([
                "SWIFTLET-stateless", firstListener?.address ?? "", firstListener.map { String($0.port) } ?? "",
            ]) + "."
    }

    /// The tag for a request.
    func tag(for msg: SIPMessage) -> String {
        guard let via = try? msg.topVia() else { return prefix + "00000000" }
        let b = msg.buffer
        let port = via.portRange ?? via.host.upperBound..<via.host.upperBound
        let branch = via.branch?.value ?? port.upperBound..<port.upperBound
        let callID = msg.firstHeader(.callID)?.valueRange ?? 0..<0
        return prefix + TagHash.crcitt(b, [via.host, port, branch]) + TagHash.crcitt(b, [port, via.host, callID])
    }
}
