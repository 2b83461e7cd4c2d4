import Synchronization

/// The reply of an RPC command that answers later, from any thread (Kamailio's
/// `rpc->delayed_ctx_new()` / `delayed_ctx_close()`): the transport keeps the caller
/// waiting for it and goes on serving other requests meanwhile. The first `send` counts;
/// later ones are ignored.
public final class RPCDelayedReply: Sendable {
    private let deliver: @Sendable (Result<RPCValue, RPCError>) -> Void
    private let sent = Atomic<Bool>(false)

    public init(_ deliver: @escaping @Sendable (Result<RPCValue, RPCError>) -> Void) {
        self.deliver = deliver
    }

    /// Sends the reply (a value or a fault) to the caller.
    public func send(_ result: Result<RPCValue, RPCError>) {
        guard !sent.exchange(true, ordering: .acquiringAndReleasing) else { return }
        deliver(result)
    }
}

extension RPCCommand {
    /// A command that answers later (Kamailio's commands that ask for `RPC_DELAYED_REPLY`):
    /// `delayed` gets the request and the reply to send once the answer is known (it throws
    /// for an immediate fault). Through a transport that cannot wait (`RPCRegistry.call(_:)`)
    /// the command fails with Kamailio's 600 `Reply wait/async mode not supported by this rpc
    /// transport`.
    public init(
        _ name: String, _ documentation: String,
        delayed: @escaping @Sendable (RPCRequest, RPCDelayedReply) throws(RPCError) -> Void
    ) {
        self.init(name, documentation, delayedHandler: delayed) { (_: RPCRequest) throws(RPCError) -> RPCValue in
            throw RPCError(600, "Reply wait/async mode not supported by this rpc transport")
        }
    }
}

extension RPCRegistry {
    /// Runs a request for a transport that can answer later (Kamailio's
    /// `RPC_DELAYED_REPLY` capability): `reply` gets the result, at once for an ordinary
    /// command, later and maybe from another thread for one with a delayed handler.
    public func call(_ request: RPCRequest, reply: @escaping @Sendable (Result<RPCValue, RPCError>) -> Void) {
        guard let c = command(request.method), let delayed = c.delayedHandler else {
            reply(call(request))
            return
        }
        let r = RPCDelayedReply(reply)
        do {
            try delayed(request, r)
        } catch {
            r.send(.failure(error))
        }
    }
}
