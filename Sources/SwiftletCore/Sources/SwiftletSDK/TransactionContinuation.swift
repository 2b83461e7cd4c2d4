/// tm's continuation of a suspended request with any code (Kamailio's `t_continue` with an
/// action list), for modules that continue a request elsewhere than in a named route
/// (async's `async_sleep` goes on with the actions after the call). tm offers it next to
/// `TransactionAPI`: `core.apis.lookup(TransactionContinuationAPI.self)`.
public protocol TransactionContinuationAPI: AnyObject {
    /// Continues the request in `context`, suspended with `TransactionAPI.suspend`: runs
    /// `body` on it with its transaction current (so `t_relay()`, `t_reply()` and
    /// `send_reply()` act on it), from any thread. False, without running `body`, when the
    /// transaction is gone or already has a final reply.
    func resume(_ context: MessageContext, running body: (MessageContext) -> Void) -> Bool
}
