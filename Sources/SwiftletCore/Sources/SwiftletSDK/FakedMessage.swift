extension MessageContext {
    /// Kamailio's faked message (`fmsg.c`), given to routes that run without a received one.
    public static let fakedMessageText =
        "OPTIONS sip:you@kamailio.org SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n"
        + "From: <sip:you@kamailio.org>;tag=123\r\nTo: <sip:you@kamailio.org>\r\nCall-ID: 123\r\n"
        + "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"

    /// A context on the faked message, received over UDP from 127.0.0.1:5060 at
    /// 127.0.0.1:5060 (event routes, async's `async_task_data`).
    public static func faked(core: CoreContext = .current) -> MessageContext {
        let message = try! SIPMessage(parsing: Array(fakedMessageText.utf8))
        let receive = ReceiveInfo(
            proto: .udp, sourceIP: "127.0.0.1", sourcePort: 5060, localIP: "127.0.0.1", localPort: 5060)
        return MessageContext(message: message, receive: receive, routeType: .request, core: core)
    }
}
