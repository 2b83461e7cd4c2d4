import SwiftletSDK

/// Runs binrpc requests against the RPC registry, as Kamailio's `process_rpc_req`: reads the
/// header, the method name and the parameters, calls the command and builds the reply or
/// the fault (with the request's cookie).
struct BinRPCRequestHandler {
    let rpcs: RPCRegistry
    let encoder: BinRPCReplyEncoder

    enum Outcome: Equatable {
        /// The bytes do not hold a whole packet yet.
        case needMore
        /// A request of `consumed` bytes was answered with `reply`.
        case answered(consumed: Int, reply: [UInt8])
        /// The packet is broken: send `reply` and close the connection.
        case failed(reply: [UInt8])
    }

    /// Handles the packet at the start of `bytes`.
    func handle(_ bytes: ArraySlice<UInt8>) -> Outcome {
        let header: BinRPC.Header
        do throws(BinRPC.Failure) {
            header = try BinRPC.parseHeader(bytes)
        } catch .moreData {
            return .needMore
        } catch {
            return .failed(reply: BinRPC.faultMessage(code: 400, message: "bad request: \(error.text)", cookie: 0))
        }
        let total = header.headerLength + header.bodyLength
        guard bytes.count >= total else { return .needMore }
        func fault(_ code: Int, _ message: String) -> [UInt8] {
            BinRPC.faultMessage(code: code, message: message, cookie: header.cookie)
        }
        guard header.type == BinRPC.request else {
            return .failed(reply: fault(400, "bad request: \(BinRPC.Failure.badPacket.text)"))
        }
        var reader = BinRPCReader(bytes: Array(bytes), position: header.headerLength, end: total)
        let method: String
        do throws(BinRPC.Failure) {
            guard case .string(let m) = try reader.next() else { throw .typeMismatch }
            method = m
        } catch {
            return .failed(reply: fault(400, "bad request method: \(error.text)"))
        }
        guard rpcs.command(method) != nil else {
            return .answered(consumed: total, reply: fault(500, "command \(method) not found"))
        }
        var params: [RPCValue] = []
        while !reader.atEnd {
            do throws(BinRPC.Failure) {
                params.append(try reader.next())
            } catch {
                let message = "error at parameter \(params.count + 1): expected any type but \(error.text)"
                return .answered(consumed: total, reply: fault(400, message))
            }
        }
        Log.debug("ctl", "RPC \(method)")
        let reply: [UInt8]
        switch rpcs.call(RPCRequest(method: method, params: params)).flatMap(encoder.body) {
        case .success(let body):
            reply = BinRPC.header(type: BinRPC.reply, bodyLength: body.count, cookie: header.cookie) + body
        case .failure(let e):
            reply = fault(e.code, e.message)
        }
        return .answered(consumed: total, reply: reply)
    }
}
