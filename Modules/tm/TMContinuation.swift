import SwiftletSDK

/// `TransactionContinuationAPI`: a suspended request continued with any code (async's
/// `async_sleep` continues with the actions after the call), as `resume(_:route:)` does
/// with a named route.
extension TMModule: TransactionContinuationAPI {
    func resume(_ context: MessageContext, running body: (MessageContext) -> Void) -> Bool {
        guard let tx = manager.lookup(context), tx.ctx === context else { return false }
        return tx.locked {
            guard tx.lastReplyCode < 200, !tx.finished else { return false }
            let state = TMThreadState.thread
            let saved = state.current
            state.current = tx
            defer { state.current = saved }
            context.exitRequested = false
            body(context)
            return true
        }
    }
}
