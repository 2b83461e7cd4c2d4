/// A module that acts once the request route of a received request has finished, whatever
/// way it ended (`exit`, `drop`, the end of the block): Kamailio's post-script callback of
/// type `REQUEST_CB`, which tm uses to send the delayed error reply of a failed `t_relay()`
/// (`t_unref`). A module offers it with `exports.provide(self, as:
/// RequestRouteCompletion.self)`; one module may (tm).
public protocol RequestRouteCompletion: AnyObject {
    /// Called on the worker that ran the request route, after it.
    func requestRouteFinished(_ context: MessageContext)
}
