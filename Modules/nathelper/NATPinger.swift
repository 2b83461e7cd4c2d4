import SwiftletSDK
import Synchronization

/// nathelper's keepalives to registered contacts (Kamailio's `nh_timer` and
/// `sip_pinger.h`): every second one slice of usrloc's contacts gets a SIP request
/// (`sipping_method`, OPTIONS) or a 4-byte UDP packet, so that each contact is pinged once
/// per `natping_interval`.
final class NATPinger: @unchecked Sendable {
    struct Settings {
        var interval = 0
        var natedOnly = false
        /// Branch-flag masks (0 = unset).
        var sippingFlag: UInt32 = 0
        var disableFlag: UInt32 = 0
        var processes = 1
        var from = ""
        var method = "OPTIONS"
        var forceSocket = ""
    }

    let settings: Settings
    let core: CoreContext
    let usrloc: UsrlocAPI
    let tables: UsrlocTableListing?
    /// `nathelper.enable_ping`: pinging on (1) or off (0).
    let enabled = Atomic<Int>(1)
    /// The fixed part of the pings' Call-IDs (Kamailio's `sipping_callid`).
    let callIDPrefix: String
    /// The slice counter and the From-tag and Call-ID counters.
    private struct Counters {
        var iteration = 0
        var fromTag: UInt32
        var callID: UInt32
    }
    private let counters: Mutex<Counters>
    private var forcedSocket: ListeningSocket?

    init(settings: Settings, core: CoreContext, usrloc: UsrlocAPI, tables: UsrlocTableListing?) {
        self.settings = settings
        self.core = core
        self.usrloc = usrloc
        self.tables = tables
        callIDPrefix = Self.reverseHex(UInt32.random(in: 1...UInt32.max))
        counters = Mutex(
            Counters(fromTag: UInt32.random(in: 0...UInt32.max), callID: UInt32.random(in: 0...UInt32.max)))
    }

    /// Kamailio's `int2reverse_hex`: hex digits, least significant first.
    static func reverseHex(_ value: UInt32) -> String {
        if value == 0 { return "0" }
        var v = value
        var s = ""
        while v != 0 {
            s.append(Character(Unicode.Scalar(UInt8(v & 0xF < 10 ? 48 + v & 0xF : 87 + v & 0xF))))
            v >>= 4
        }
        return s
    }

    /// Starts the once-a-second timer.
    func start() {
        core.timers.every(milliseconds: 1000, name: "nathelper-ping") { self.tick() }
    }

    /// One second's slice: the contacts whose AoR hash falls in the partitions of this tick.
    func tick() {
        let partitions = max(1, settings.interval * max(1, settings.processes))
        let interval = settings.interval
        let iteration = counters.withLock { c in
            let i = c.iteration
            c.iteration = i + 1 >= interval ? 0 : i + 1
            return i
        }
        let slice = (0..<max(1, settings.processes)).map { $0 * interval + iteration }
        guard enabled.load(ordering: .relaxed) != 0 else { return }
        if settings.forceSocket.isEmpty == false, forcedSocket == nil {
            forcedSocket = socket(named: settings.forceSocket)
        }
        let now = usrloc.now()
        let natMask = UInt32(truncatingIfNeeded: usrloc.natFlagMask)
        for name in tables?.tableNames() ?? ["location"] {
            guard let table = usrloc.domain(named: name) else { continue }
            for record in table.records() {
                let hash = usrloc.aorHash(record.aor)
                guard slice.contains(Int(hash % UInt32(partitions))) else { continue }
                for c in record.contacts {
                    if c.expires != 0, c.expires <= now { continue }
                    if settings.natedOnly, c.cflags & natMask == 0 { continue }
                    if c.cflags & settings.disableFlag != 0 { continue }
                    ping(c, aorHash: hash)
                }
            }
        }
    }

    /// A socket by its `proto:ip:port` text.
    func socket(named text: String) -> ListeningSocket? {
        let lower = text.lowercased()
        return core.transport?.sockets.first { $0.socketString.lowercased() == lower }
    }

    func ping(_ c: UsrlocContact, aorHash: UInt32) {
        let sip = c.cflags & settings.sippingFlag != 0 || (!settings.natedOnly && settings.sippingFlag != 0)
        var target = c.received.isEmpty ? c.address : c.received
        if !c.path.isEmpty, c.cflags & settings.sippingFlag != 0, let first = Self.firstPathURI(c.path) {
            target = first
        }
        guard let uri = SIPURI(target) else {
            Log.error("nathelper", "can't parse contact/received uri")
            return
        }
        let transport = uri.parameter("transport")?.lowercased()
        guard transport == nil || transport == "udp" else { return }
        guard let address = try? NextHop.resolve(uri.host, port: uri.port ?? 5060) else {
            Log.error("nathelper", "can't resolve_host")
            return
        }
        guard
            let socket = forcedSocket ?? (c.socket.isEmpty ? nil : self.socket(named: c.socket))
                ?? core.transport?.sendSocket(for: .udp, to: address, received: nil)
        else {
            Log.error("nathelper", "can't get sending socket")
            return
        }
        let bytes = sip ? Array(request(c, socket: socket, aorHash: aorHash).utf8) : [0, 0, 0, 0]
        let destination = Destination(proto: .udp, address: address, socket: socket)
        let kind: OutboundMessage.Kind = .request
        if core.send(OutboundMessage(bytes: bytes, destination: destination, kind: kind), context: nil) != .sent {
            Log.error("nathelper", sip ? "sip udp_send failed" : "udp_send failed")
        }
    }

    /// The first URI of a Path value (Kamailio's `get_path_dst_uri`).
    static func firstPathURI(_ path: String) -> String? {
        guard let open = path.firstIndex(of: "<"), let close = path[open...].firstIndex(of: ">") else { return nil }
        return String(path[path.index(after: open)..<close])
    }

    /// Kamailio's `build_sipping`.
    func request(_ c: UsrlocContact, socket: ListeningSocket, aorHash: UInt32) -> String {
        let (tag, callID) = counters.withLock { c in
            defer {
                c.fromTag &+= 1
                c.callID &+= 1
            }
            return (c.fromTag, c.callID)
        }
        let host = socket.isIPv6 ? "[\(socket.advertisedHost)]" : socket.advertisedHost
        let branch = Int.random(in: 1_000_000...9_999_999)
        var s = "\(settings.method) \(c.address) SIP/2.0\r\nVia: SIP/2.0/UDP \(host):\(socket.advertisedPort)"
        s += ";branch=z9hG4bK\(branch)"
        if !c.path.isEmpty { s += "\r\nRoute: \(c.path)" }
        s += "\r\nFrom: \(settings.from);tag=\(c.ruid)-\(Self.reverseHex(aorHash))-\(Self.reverseHex(tag))"
        s += "\r\nTo: \(c.address)"
        let ticks = UInt32(truncatingIfNeeded: core.timers.ticks)
        s +=
            "\r\nCall-ID: \(callIDPrefix)-\(Self.reverseHex(callID))-\(Self.reverseHex(ticks))@\(socket.address.ipString)"
        s += "\r\nCSeq: 1 \(settings.method)\r\nContent-Length: 0\r\n\r\n"
        return s
    }

    /// Kamailio's `sipping_rpl_filter`: a reply with one Via, CSeq method `sipping_method`
    /// and a Call-ID of our pings is absorbed.
    func isReplyToPing(_ msg: SIPMessage) -> Bool {
        guard let vias = try? msg.vias(), vias.count == 1, let cseq = try? msg.cseq() else { return false }
        guard msg.buffer.text(cseq.methodRange) == settings.method, let callID = msg.callID else { return false }
        return callID.utf8.count > callIDPrefix.utf8.count + 1 && callID.hasPrefix(callIDPrefix + "-")
    }
}
