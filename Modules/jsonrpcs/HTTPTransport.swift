import Foundation
import SwiftletSDK

/// JSON-RPC over HTTP (Kamailio's `jsonrpc_dispatch()` in `event_route[xhttp:request]`):
/// the request body is the JSON-RPC document, the answer goes out through xhttp's reply
/// with the HTTP status Kamailio uses (200 OK, or the fault's code and message, 500 for
/// codes up to 100).
struct JSONRPCHTTPTransport {
    let xhttp: HTTPReplyAPI
    let rpcs: RPCRegistry
    let pretty: Bool

    /// `jsonrpc_dispatch()`: 1 when the request was answered, -1 when it is not HTTP.
    func dispatch(_ ctx: MessageContext) -> Int {
        guard ctx.message.isHTTP else {
            Log.debug("jsonrpcs", "Got non HTTP msg")
            return -1
        }
        let body = Data(ctx.message.buffer[ctx.message.bodyRange])
        let target = ReplyTarget(ctx: ctx, xhttp: xhttp, pretty: pretty)
        switch JSONRPCCodec.decode(body) {
        case .request(let request, let id):
            Log.debug("jsonrpcs", "RPC \(request.method) over HTTP")
            let pending = PendingID(id: id)
            rpcs.call(request) { result in target.send(result, id: pending.id) }
        case .invalid(let id, let error):
            Log.error("jsonrpcs", "invalid json doc [[\(String(decoding: body, as: UTF8.self))]]")
            target.send(.failure(error), id: id)
        }
        return 1
    }

    /// The JSON value of the request's `id`, kept for a reply sent later.
    struct PendingID: @unchecked Sendable { let id: Any? }

    /// Where the answer goes: the HTTP request (a delayed reply may come from another thread,
    /// after the route ended; the context is not touched by the worker any more then).
    struct ReplyTarget: @unchecked Sendable {
        let ctx: MessageContext
        let xhttp: HTTPReplyAPI
        let pretty: Bool

        func send(_ result: Result<RPCValue, RPCError>, id: Any?) {
            let doc = [UInt8](JSONRPCCodec.encode(result, id: id, pretty: pretty))
            var code = 200
            var reason = "OK"
            if case .failure(let e) = result {
                code = e.code <= 100 ? 500 : e.code
                reason = e.message
            }
            if !xhttp.reply(ctx, code: code, reason: reason, contentType: "application/json", body: doc) {
                Log.error("jsonrpcs", "cannot send the HTTP reply")
            }
        }
    }
}
