import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One of Kamailio's twelve `tm.t_uac_*` RPCs (`rpc_t_uac` in `rpc_uac.c`): how it answers,
/// whether tm ACKs a 2xx of a local INVITE, and whether the body comes hex-encoded.
struct UACRPCVariant: Sendable {
    /// How the RPC answers (Kamailio's `reply_wait`).
    enum Answer: Sendable {
        /// At once, once the request went out (`tm.t_uac_start`).
        case atOnce
        /// A delayed RPC reply with the final reply (`tm.t_uac_wait`).
        case delayed
        /// The RPC thread waits for the final reply (`tm.t_uac_wait_block`).
        case blocking
    }

    let answer: Answer
    /// `_noack`: Kamailio's `TMCB_DONT_ACK` (no ACK for a 2xx of a local INVITE).
    let noAck: Bool
    /// `_hex`: the body is hex-encoded (spaces and tabs between byte pairs are skipped).
    let hexBody: Bool

    /// All twelve, as Kamailio 5.6 exports them.
    static let all: [UACRPCVariant] = {
        var out: [UACRPCVariant] = []
        for answer in [Answer.atOnce, .delayed, .blocking] {
            for noAck in [false, true] {
                for hexBody in [false, true] {
                    out.append(UACRPCVariant(answer: answer, noAck: noAck, hexBody: hexBody))
                }
            }
        }
        return out
    }()

    /// `tm.t_uac_start`, `tm.t_uac_wait_noack_hex`, ...
    var name: String {
        let base =
            switch answer {
            case .atOnce: "tm.t_uac_start"
            case .delayed: "tm.t_uac_wait"
            case .blocking: "tm.t_uac_wait_block"
            }
        return base + (noAck ? "_noack" : "") + (hexBody ? "_hex" : "")
    }

    /// Kamailio's documentation string of the RPC.
    var documentation: String {
        let start =
            switch answer {
            case .atOnce: "starts a tm uac using a list of string parameters: method, ruri, dst_uri, send_sock"
            case .delayed:
                "starts a tm uac and waits for the final reply, using a list of string parameters: method, ruri, dst_uri send_sock"
            case .blocking:
                "starts a tm uac and waits for the final reply in blocking mode, using a list of string parameters: method, ruri, dst_uri send_sock"
            }
        return start + ", headers (CRLF separated) and " + (hexBody ? "hexa body" : "body") + " (optional)"
            + (noAck ? ", without sending ACK for local INVITE" : "")
    }

    /// The parameters checked and turned into a request (faults with Kamailio's texts).
    func request(_ r: RPCRequest) throws(RPCError) -> LocalRequest {
        guard r.params.count >= 5 else { throw RPCError(400, "too few parameters (\(r.params.count)/5)") }
        let body = r.params.count > 5 ? try r.string(5) : ""
        return try UACSendRequest.parse(
            method: try r.string(0), ruri: try r.string(1), nexthop: try r.string(2), socket: try r.string(3),
            headers: try r.string(4), body: body, hexBody: hexBody, noAck: noAck
        ).get()
    }
}

extension TMModule {
    /// The `tm.t_uac_start`, `tm.t_uac_wait` and `tm.t_uac_wait_block` RPCs with their
    /// `_noack`, `_hex` and `_noack_hex` variants.
    var uacStartRPCs: [RPCCommand] {
        UACRPCVariant.all.map { (variant: UACRPCVariant) -> RPCCommand in
            switch variant.answer {
            case .atOnce: startRPC(variant)
            case .delayed: waitRPC(variant)
            case .blocking: waitBlockRPC(variant)
            }
        }
    }

    /// `tm.t_uac_start*`: null once the request went out.
    private func startRPC(_ variant: UACRPCVariant) -> RPCCommand {
        let m = manager
        return RPCCommand(variant.name, variant.documentation) { (r: RPCRequest) throws(RPCError) -> RPCValue in
            let request = try variant.request(r)
            if case .failure(let e) = m.sendLocal(request, completion: { _ in }) {
                throw Self.uacError(e)
            }
            return .null
        }
    }

    /// `tm.t_uac_wait*` (Kamailio's `rpc_t_uac_wait`): the RPC answers once the final reply
    /// came, through a delayed RPC reply (the transport goes on serving other requests
    /// meanwhile; one that cannot wait gets Kamailio's 600 fault).
    private func waitRPC(_ variant: UACRPCVariant) -> RPCCommand {
        let m = manager
        return RPCCommand(variant.name, variant.documentation) {
            (r: RPCRequest, reply: RPCDelayedReply) throws(RPCError) in
            let request = try variant.request(r)
            if case .failure(let e) = m.sendLocal(
                request, completion: { final in reply.send(.success(Self.uacWaitResult(final))) })
            {
                throw Self.uacError(e)
            }
        }
    }

    /// `tm.t_uac_wait_block*`: `{code, text}` of the final reply; the RPC thread looks for
    /// it every 100 ms, at most 800 times, as Kamailio does (then `500 No response`).
    private func waitBlockRPC(_ variant: UACRPCVariant) -> RPCCommand {
        let m = manager
        return RPCCommand(variant.name, variant.documentation) { (r: RPCRequest) throws(RPCError) -> RPCValue in
            let request = try variant.request(r)
            let result = Mutex<(code: Int, text: String)?>(nil)
            if case .failure(let e) = m.sendLocal(
                request, completion: { reply in result.withLock { $0 = (reply.code, reply.reason) } })
            {
                throw Self.uacError(e)
            }
            for _ in 0..<800 {
                if let final = result.withLock({ $0 }) {
                    return .object([("code", .int(final.code)), ("text", .string(final.text))])
                }
                usleep(100_000)
            }
            throw RPCError(500, "No response")
        }
    }
}

extension UACSendRequest {
    /// Kamailio's `ksr_hex_decode_ws`: pairs of hex digits (either case), spaces and tabs
    /// allowed between the pairs; nil for anything else, an odd digit count or nothing but
    /// white space.
    static func hexDecode(_ text: [UInt8]) -> [UInt8]? {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var i = 0
        while i < text.count {
            if text[i] == UInt8(ascii: " ") || text[i] == UInt8(ascii: "\t") {
                i += 1
                continue
            }
            guard i + 1 < text.count, let high = nibble(text[i]), let low = nibble(text[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out.isEmpty ? nil : out
    }
}
