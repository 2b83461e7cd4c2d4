import NIOCore
import SwiftletSDK

extension TCPTransport {
    /// For a TLS connection (`proto`: the socket's, or the destination's for one the server
    /// opens), the module's security layer between the socket and the SIP stream handler;
    /// nothing for TCP.
    func addSecurityHandler(
        to channel: Channel, role: StreamSecurityRole, socket: ListeningSocket, proto: TransportProtocol
    ) throws {
        guard proto == .tls else { return }
        guard let security else { throw RuntimeError("no TLS engine (loadmodule \"tls.so\")") }
        try channel.pipeline.syncOperations.addHandler(
            StreamSecurityHandler(provider: security, role: role, socket: socket))
    }
}
