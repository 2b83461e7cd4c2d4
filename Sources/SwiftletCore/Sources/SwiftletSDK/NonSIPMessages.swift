/// A module that takes non-SIP requests received on the SIP listeners (Kamailio's
/// `register_nonsip_msg_hook`): HTTP/1.x requests on TCP (and TLS) connections, which the
/// xhttp module serves. Offered with `exports.provide(self, as: NonSIPMessageHandler.self)`;
/// the core asks it for every such request. Without a provider they are dropped, as Kamailio
/// drops them.
public protocol NonSIPMessageHandler: AnyObject, Sendable {
    /// Handles `message` (an HTTP request, `message.isHTTP`) received as `receive`. Runs on
    /// the stream worker of its connection, like a SIP request.
    func handleNonSIPMessage(_ message: SIPMessage, receive: ReceiveInfo, core: CoreContext)
}

/// The xhttp module's reply function for other modules (Kamailio's `xhttp_api_t.reply`, as
/// jsonrpcs uses it): answers the HTTP request of `ctx` on its connection.
public protocol HTTPReplyAPI: AnyObject, Sendable {
    /// Sends `HTTP/1.1 code reason` with `contentType` (none when empty) and `body`; false
    /// when it could not be sent.
    func reply(_ ctx: MessageContext, code: Int, reason: String, contentType: String, body: [UInt8]) -> Bool
}
