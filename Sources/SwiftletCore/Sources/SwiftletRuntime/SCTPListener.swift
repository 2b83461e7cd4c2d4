import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A bound one-to-many SCTP socket (one per `sctp:` listen line, multi-homed when the line
/// lists several addresses), opened by the sctp module. Its receiver threads all read the
/// one socket, as Kamailio's sctp receiver children do.
final class SCTPListener {
    let address: ListenAddress
    let fd: Int32
    /// This listener as forwarding sees it (its first address).
    let socket: ListeningSocket
    let provider: any SCTPTransportProvider

    init(_ address: ListenAddress, index: Int, provider: any SCTPTransportProvider) throws(RuntimeError) {
        self.address = address
        self.provider = provider
        var addresses: [SocketAddress] = []
        for host in [address.address] + address.additionalAddresses {
            addresses.append(try SocketAddress(host: host, port: address.port))
        }
        do throws(SCTPTransportError) {
            fd = try provider.openSocket(address, addresses: addresses)
        } catch {
            throw RuntimeError("cannot bind \(address): \(error.message)")
        }
        socket = ListeningSocket(index: index, listen: address, address: addresses[0], fd: fd)
    }

    deinit { close(fd) }

    /// A receiver's loop: one complete message at a time to the dispatcher, until `stop`.
    func run(dispatcher: MessageDispatcher, stop: StopFlag) {
        MallocArena.reserve(bytes: UDPWorker.arenaReserveBytes)
        let receive = ReceiveInfo(proto: .sctp, source: SocketAddress(), local: socket.address, socket: socket)
        while !stop.isSet {
            var peer = SocketAddress()
            guard let bytes = provider.receive(on: fd, peer: &peer) else { continue }
            var info = receive
            info.source = peer
            dispatcher.handle(bytes, receive: info)
        }
    }
}

extension Server {
    /// Starts `children` receiver threads per SCTP socket (`sctp_children`, else `children`);
    /// returns the next free rank.
    static func startSCTPReceivers(
        _ listeners: [SCTPListener], children: Int, firstRank: Int, modules: [LoadedModule],
        dispatcher: MessageDispatcher, stop: StopFlag, failed: StopFlag, into threads: inout [pthread_t]
    ) -> Int {
        var rank = firstRank
        for listener in listeners {
            for child in 0..<children {
                threads.append(
                    startWorker(
                        rank: rank, modules: modules, failed: failed,
                        description:
                            "sctp receiver child=\(child) sock=\(listener.address.address):\(listener.address.port)",
                        threadName: "sctp-recv-\(child)"
                    ) {
                        listener.run(dispatcher: dispatcher, stop: stop)
                    })
                rank += 1
            }
        }
        return rank
    }
}
