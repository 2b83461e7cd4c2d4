import Glibc
import SwiftletSDK
import Synchronization

/// The set chosen by `set_rtpengine_set()` for the message being processed (Kamailio keeps
/// it in process globals tagged with the message id; here per worker thread, tagged with the
/// message context), and which INVITEs carried the offer (Kamailio's `FL_SDP_BODY` on the
/// transaction's request).
final class SetChoice: @unchecked Sendable {
    private final class Choice {
        weak var context: MessageContext?
        var first: EngineSet?
        var second: EngineSet?
    }

    private var key = pthread_key_t()
    private let selection: EngineSelection
    private let offers = Mutex<[String: Int]>([:])

    init(selection: EngineSelection) {
        self.selection = selection
        pthread_key_create(&key) { p in
            if let p { Unmanaged<AnyObject>.fromOpaque(p).release() }
        }
    }

    private var choice: Choice {
        if let p = pthread_getspecific(key) { return Unmanaged<Choice>.fromOpaque(p).takeUnretainedValue() }
        let c = Choice()
        pthread_setspecific(key, Unmanaged.passRetained(c as AnyObject).toOpaque())
        return c
    }

    /// Selects `first` (and `second`) for this message.
    func choose(_ first: EngineSet, _ second: EngineSet?, for ctx: MessageContext) {
        let c = choice
        c.context = ctx
        c.first = first
        c.second = second
    }

    /// The sets a request goes through, in order: the chosen one (without a choice the
    /// default set), then, when two different sets were chosen, the other one. Direction 2
    /// (answers) starts with the second set (Kamailio's `set_rtpengine_set_from_avp`).
    func sets(_ ctx: MessageContext, direction: Int) -> [EngineSet?] {
        let c = choice
        guard c.context === ctx, let first = c.first else { return [selection.set(selection.defaultSetID)] }
        guard let second = c.second, second !== first else { return [first] }
        return direction == 1 ? [first, second] : [second, first]
    }

    private static func key(_ msg: SIPMessage) -> String? {
        guard let callID = msg.callID, let cseq = try? msg.cseq() else { return nil }
        return "\(callID) \(cseq.number)"
    }

    /// Notes that the INVITE carried the offer.
    func markOffer(_ msg: SIPMessage) {
        guard let k = Self.key(msg) else { return }
        let now = selection.clock()
        offers.withLock { o in
            if o.count > 10_000 { o = o.filter { $0.value > now } }
            o[k] = now + selection.settings.hashTableTimeout
        }
    }

    /// True when the INVITE this reply answers carried the offer.
    func offerWasInRequest(_ msg: SIPMessage) -> Bool {
        guard let k = Self.key(msg) else { return false }
        return offers.withLock { $0[k] } != nil
    }
}
