import SwiftletSDK
import Synchronization

/// One call (the messages of one Call-ID still in the ring), as the list shows it.
struct CallSummary: Sendable {
    let callID: String
    /// From and To user of the first message.
    let fromUser: String
    let toUser: String
    /// The first request's method (`INVITE`, `REGISTER`, ...).
    let method: String
    /// The label of the last message (`BYE`, `200 OK`).
    let lastLabel: String
    /// The final status of the first INVITE (or of the first request): 0 while none came.
    let finalCode: Int
    let firstMicros: Int64
    let lastMicros: Int64
    /// The sequence number of the newest message: changes whenever the call does.
    let lastSeq: UInt64
    let count: Int
    /// `ip:port` of each party, in the order they appear.
    let parties: [String]
}

/// What the page filters on (each empty: no filter): a substring of the Call-ID, of the From
/// or To user, of a source or destination `ip:port`.
struct CallFilter: Sendable {
    var callID = ""
    var user = ""
    var ip = ""

    func matches(_ messages: [MessageSummary]) -> Bool {
        if !callID.isEmpty, !(messages.first?.callID.contains(callID) ?? false) { return false }
        if !user.isEmpty, !messages.contains(where: { $0.fromUser.contains(user) || $0.toUser.contains(user) }) {
            return false
        }
        if !ip.isEmpty, !messages.contains(where: { $0.wire.source.contains(ip) || $0.wire.destination.contains(ip) }) {
            return false
        }
        return true
    }
}

/// The summaries of the messages in the ring, kept up to date when someone asks (the API,
/// the RPCs): the new entries are read out of the ring and scanned once, outside the
/// observers' lock.
final class LadderIndex: Sendable {
    struct State: Sendable {
        var summaries: [MessageSummary] = []
        var through: UInt64 = 0
    }
    let ring: LadderRing
    private let state = Mutex(State())

    init(ring: LadderRing) { self.ring = ring }

    /// The summaries of every SIP message in the ring, oldest first, and the cursor (the
    /// newest sequence number).
    func snapshot() -> (summaries: [MessageSummary], cursor: UInt64) {
        state.withLock { s in
            let fresh = ring.entries(after: s.through)
            for e in fresh {
                s.through = e.seq
                if let m = MessageSummary(Self.wire(e)) { s.summaries.append(m) }
            }
            let newest = ring.newest
            let floor = max(ring.cleared, newest > UInt64(ring.capacity) ? newest - UInt64(ring.capacity) : 0)
            if let keep = s.summaries.firstIndex(where: { $0.wire.seq > floor }) {
                if keep > 0 { s.summaries.removeFirst(keep) }
            } else {
                s.summaries.removeAll()
            }
            s.through = max(s.through, floor)
            return (s.summaries, max(s.through, floor))
        }
    }

    /// The entry as the API shows it: sender and receiver as `ip:port`.
    static func wire(_ e: RawEntry) -> WireMessage {
        let peer = e.peer.description
        let local = e.local?.address.description ?? "0.0.0.0:0"
        return WireMessage(
            seq: e.seq, timeMicros: e.timeMicros, bytes: e.bytes, wireLength: e.wireLength, proto: e.proto,
            source: e.received ? peer : local, destination: e.received ? local : peer, received: e.received)
    }

    /// The calls matching `filter`, the most recently active first, at most `limit`.
    func calls(_ filter: CallFilter, limit: Int) -> (calls: [CallSummary], cursor: UInt64) {
        let (summaries, cursor) = snapshot()
        var order: [String] = []
        var byCall: [String: [MessageSummary]] = [:]
        for m in summaries {
            if byCall[m.callID] == nil { order.append(m.callID) }
            byCall[m.callID, default: []].append(m)
        }
        var out: [CallSummary] = []
        for id in order {
            guard let messages = byCall[id].map(Self.shown), filter.matches(messages) else { continue }
            out.append(Self.summary(messages))
        }
        out.sort { $0.lastSeq > $1.lastSeq }
        return (Array(out.prefix(max(0, limit))), cursor)
    }

    /// The messages of one call, oldest first (empty when it is not in the ring).
    func messages(ofCall callID: String) -> (messages: [MessageSummary], cursor: UInt64) {
        let (summaries, cursor) = snapshot()
        return (Self.shown(summaries.filter { $0.callID == callID }), cursor)
    }

    /// The messages of one call as the ladder draws them.
    static func shown(_ messages: [MessageSummary]) -> [MessageSummary] {
        causalOrder(connectionPeers(messages))
    }

    /// A sent message is recorded once it was written, so the answer to it (a reply to a
    /// request, the ACK of a 2xx) received by another worker in the meantime may come
    /// first. Such a sent message is moved before its answer, at the answer's time.
    static func causalOrder(_ messages: [MessageSummary]) -> [MessageSummary] {
        var out = messages
        var j = 0
        while j < out.count {
            let m = out[j]
            if !m.wire.received,
                let i = out[..<j].firstIndex(where: { n in
                    n.wire.received && n.wire.source == m.wire.destination && answers(n, m)
                })
            {
                var moved = out.remove(at: j)
                moved.wire.timeMicros = min(moved.wire.timeMicros, out[i].wire.timeMicros)
                out.insert(moved, at: i)
            }
            j += 1
        }
        return out
    }

    /// Whether `answer` is a reply to the request `sent`, or the ACK of the 2xx `sent`.
    static func answers(_ answer: MessageSummary, _ sent: MessageSummary) -> Bool {
        if sent.code == 0 { return answer.code > 0 && answer.cseq == sent.cseq }
        guard sent.code >= 200, sent.code < 300, sent.method == "INVITE", answer.method == "ACK" else { return false }
        return answer.cseq.split(separator: " ").first == sent.cseq.split(separator: " ").first
    }

    /// A reply sent on a connection (TCP, TLS, WS, WSS, SCTP) names as its destination the
    /// address of the request's Via (port 5060 when the client put no `rport` there), not
    /// the connection's peer, which the observers do not see. Such a reply, when that address
    /// sent nothing in the call, is drawn going to where its request came from.
    static func connectionPeers(_ messages: [MessageSummary]) -> [MessageSummary] {
        var senders: Set<String> = []
        var requestSource: [String: String] = [:]
        for m in messages where m.wire.received {
            senders.insert(m.wire.source)
            if m.code == 0, requestSource[m.cseq] == nil { requestSource[m.cseq] = m.wire.source }
        }
        return messages.map { m in
            guard !m.wire.received, m.code > 0, m.wire.proto != .udp, !senders.contains(m.wire.destination),
                let peer = requestSource[m.cseq]
            else { return m }
            var shown = m
            shown.wire.destination = peer
            return shown
        }
    }

    static func summary(_ messages: [MessageSummary]) -> CallSummary {
        let first = messages[0]
        let last = messages[messages.count - 1]
        let method = messages.first { $0.code == 0 }?.method ?? first.method
        let finalCode =
            messages.first { $0.code >= 200 && $0.method == method && $0.cseq == first.cseq }?.code
            ?? messages.first { $0.code >= 200 && $0.method == method }?.code ?? 0
        return CallSummary(
            callID: first.callID, fromUser: first.fromUser, toUser: first.toUser, method: method,
            lastLabel: last.label, finalCode: finalCode, firstMicros: first.wire.timeMicros,
            lastMicros: messages.map(\.wire.timeMicros).max() ?? 0, lastSeq: messages.map(\.wire.seq).max() ?? 0,
            count: messages.count,
            parties: parties(messages))
    }

    /// The `ip:port` of every sender and receiver, in the order they first appear.
    static func parties(_ messages: [MessageSummary]) -> [String] {
        var seen: [String] = []
        for m in messages {
            if !seen.contains(m.wire.source) { seen.append(m.wire.source) }
            if !seen.contains(m.wire.destination) { seen.append(m.wire.destination) }
        }
        return seen
    }
}
