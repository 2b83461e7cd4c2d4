import NIOCore
import SwiftletSDK

extension TCPTransport {
    /// For a `tls:` socket, the module's security layer between the socket and the SIP
    /// stream handler; nothing for TCP.
    func addSecurityHandler(to channel: Channel, role: StreamSecurityRole, socket: ListeningSocket) throws {
        guard socket.proto == .tls else { return }
        guard let security else { throw RuntimeError("no TLS engine (loadmodule \"tls.so\")") }
        try channel.pipeline.syncOperations.addHandler(
            StreamSecurityHandler(provider: security, role: role, socket: socket))
    }
}
