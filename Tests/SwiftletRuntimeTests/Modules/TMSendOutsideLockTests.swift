import Foundation
import Synchronization
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// tm writes a transaction's replies, its ACK and its CANCEL with the transaction unlocked,
/// as Kamailio sends relayed replies after `UNLOCK_REPLIES`: while such a message is being
/// written, another worker can use the transaction (here `tm.list`, which reads every
/// transaction under its lock) instead of waiting for the write.
@Suite struct TMSendOutsideLockTests {
    /// The embedded core's memory transport, but while it writes a message whose first line
    /// starts with one of `probed`, `tm.list` runs on another thread and the write waits for
    /// it (2 s at most). Records, per first line, whether `tm.list` got through meanwhile.
    final class ProbingTransport: TransportLayer, @unchecked Sendable {
        let inner: MemoryTransport
        let probed: [String]
        let rpcs: RPCRegistry
        let results = Mutex<[(line: String, passed: Bool)]>([])

        init(inner: MemoryTransport, probed: [String], rpcs: RPCRegistry) {
            self.inner = inner
            self.probed = probed
            self.rpcs = rpcs
        }

        var sockets: [ListeningSocket] { inner.sockets }

        func sendSocket(for proto: TransportProtocol, to address: SocketAddress, received: ListeningSocket?)
            -> ListeningSocket?
        {
            inner.sendSocket(for: proto, to: address, received: received)
        }

        func send(_ bytes: [UInt8], to destination: Destination, from socket: ListeningSocket) -> Bool {
            let line = String(decoding: bytes.prefix { $0 != 13 }, as: UTF8.self)
            if probed.contains(where: { line.hasPrefix($0) }) {
                let done = DispatchSemaphore(value: 0)
                let rpcs = rpcs
                Thread {
                    _ = rpcs.call(RPCRequest(method: "tm.list", params: []))
                    done.signal()
                }.start()
                let passed = done.wait(timeout: .now() + 2) == .success
                if !passed { done.wait() }  // let the probe end before the test does
                results.withLock { $0.append((line, passed)) }
            }
            return inner.send(bytes, to: destination, from: socket)
        }

        func isMyself(host: String, port: Int?, proto: TransportProtocol?) -> Bool {
            inner.isMyself(host: host, port: port, proto: proto)
        }
    }

    /// The 100 Trying, the INVITE (one target, made under the lock, sent after it), the relayed
    /// 180, the ACK of the 486 and the relayed 486.
    @Test func repliesTheRequestAndTheAckGoOutWithTheTransactionUnlocked() throws {
        let core = try EmbeddedCore(config: TMModuleTests.config(), modulePath: productsDirectory)
        let probing = ProbingTransport(
            inner: core.transport, probed: ["SIP/2.0 ", "ACK ", "INVITE "], rpcs: core.context.rpcs)
        core.loaded.install(transport: probing)
        core.receive(TMModuleTests.invite(), from: TMModuleTests.caller)
        let sent = core.takeSent()
        #expect(
            sent.map(\.firstLine) == [
                "SIP/2.0 100 trying -- your call is important to us", "INVITE sip:bob@127.0.0.1 SIP/2.0",
            ])
        core.receive(TMModuleTests.reply(to: sent[1], 180, "Ringing"), from: TMModuleTests.callee)
        core.receive(TMModuleTests.reply(to: sent[1], 486, "Busy Here"), from: TMModuleTests.callee)
        // The ACK goes to the callee before the 486 goes to the caller, as in Kamailio.
        #expect(
            core.takeSent().map(\.firstLine) == [
                "SIP/2.0 180 Ringing", "ACK sip:bob@127.0.0.1 SIP/2.0", "SIP/2.0 486 Busy Here",
            ])
        let results = probing.results.withLock { $0 }
        #expect(
            results.map(\.line) == [
                "SIP/2.0 100 trying -- your call is important to us", "INVITE sip:bob@127.0.0.1 SIP/2.0",
                "SIP/2.0 180 Ringing", "ACK sip:bob@127.0.0.1 SIP/2.0", "SIP/2.0 486 Busy Here",
            ])
        let waited = results.filter { !$0.passed }.map(\.line)
        #expect(waited.isEmpty, "tm.list waited for these sends: \(waited)")
    }
}
