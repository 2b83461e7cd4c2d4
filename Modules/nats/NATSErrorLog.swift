import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An error line that may come for every request (a full queue, a server that is gone):
/// logged at most once a second, with the number of lines left out since.
final class NATSErrorLog: Sendable {
    static let publish = NATSErrorLog()
    static let queueFull = NATSErrorLog()
    static let noPublisher = NATSErrorLog()

    private let lastSecond = Atomic<Int>(0)
    private let suppressed = Atomic<Int>(0)

    /// Logs `text` at ERROR unless a line was logged in this second already.
    func report(_ text: @autoclosure () -> String) {
        let now = Int(time(nil))
        let last = lastSecond.load(ordering: .relaxed)
        guard now != last, lastSecond.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else {
            suppressed.wrappingAdd(1, ordering: .relaxed)
            return
        }
        let left = suppressed.exchange(0, ordering: .relaxed)
        Log.error("nats", text() + (left > 0 ? " (\(left) similar errors not logged in the last second)" : ""))
    }
}
