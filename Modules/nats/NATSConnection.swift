import CNats
import Glibc
import SwiftletSDK

/// One libnats connection with Kamailio's options (`nats_init_connection`): reconnect for
/// ever in practice (10000 attempts, 2 s apart, 100 ms..1 s jitter), retry a failed first
/// connect in the background, buffer up to 8 MB while reconnecting. Its callbacks report to
/// the event routes `nats:connected` and `nats:disconnected`.
final class NATSConnection {
    /// What the connection is for, in log lines ("publish worker 1", "subscriber x:y").
    let role: String
    let events: NATSEventRoutes
    private(set) var connection: OpaquePointer?
    private var options: OpaquePointer?
    /// Whether `connect` connected at once (Kamailio's publish workers then run
    /// `nats:connected` themselves).
    private(set) var connectedAtOnce = false

    init(role: String, events: NATSEventRoutes) {
        self.role = role
        self.events = events
    }

    /// Closes and frees the connection and its options. The object itself stays allocated:
    /// libnats holds it as the closure of callbacks that may still be delivered.
    func destroy() {
        if let connection {
            natsConnection_Close(connection)
            natsConnection_Destroy(connection)
        }
        if let options { natsOptions_Destroy(options) }
        connection = nil
        options = nil
    }

    /// Creates the options and connects; with a server down, the connection goes on trying
    /// in the background (`NATS_NOT_YET_CONNECTED`) and is usable at once: what is published
    /// meanwhile waits in the reconnect buffer. False when libnats refused the options.
    func connect(servers: [String], writeDeadlineMilliseconds: Int64 = 0) -> Bool {
        var opts: OpaquePointer?
        var s = natsOptions_Create(&opts)
        guard s == NATS_OK, let opts else {
            Log.error("nats", "could not create nats options [\(Self.text(s))]")
            return false
        }
        options = opts
        natsOptions_SetAllowReconnect(opts, true)
        natsOptions_SetSecure(opts, false)
        natsOptions_SetMaxReconnect(opts, 10000)
        natsOptions_SetReconnectWait(opts, 2 * 1000)
        natsOptions_SetPingInterval(opts, 2 * 60 * 1000)
        natsOptions_SetMaxPingsOut(opts, 2)
        natsOptions_SetIOBufSize(opts, 32 * 1024)
        natsOptions_SetMaxPendingMsgs(opts, 65536)
        natsOptions_SetTimeout(opts, 2 * 1000)
        natsOptions_SetReconnectBufSize(opts, 8 * 1024 * 1024)
        natsOptions_SetReconnectJitter(opts, 100, 1000)
        if writeDeadlineMilliseconds > 0 { natsOptions_SetWriteDeadline(opts, writeDeadlineMilliseconds) }
        // Publishing buffers: libnats' flusher thread writes what a publish worker's batch
        // put in the buffer with one write (as in Kamailio, which keeps libnats' default).
        for url in servers { Log.info("nats", "adding server [\(url)] for \(role)") }
        s = Self.withCStrings(servers) { list in
            natsOptions_SetServers(opts, list, Int32(servers.count))
        }
        guard s == NATS_OK else {
            Log.error("nats", "could not set nats server[\(Self.text(s))]")
            return false
        }
        // Retained for good (see destroy()): a callback may come after the connection is freed.
        let me = Unmanaged.passRetained(self).toOpaque()
        natsOptions_SetDisconnectedCB(opts, { _, closure in NATSConnection.from(closure)?.disconnected() }, me)
        natsOptions_SetReconnectedCB(opts, { _, closure in NATSConnection.from(closure)?.connected() }, me)
        natsOptions_SetRetryOnFailedConnect(opts, true, { _, closure in NATSConnection.from(closure)?.connected() }, me)
        natsOptions_SetClosedCB(opts, { nc, closure in NATSConnection.from(closure)?.closed(nc) }, me)

        var nc: OpaquePointer?
        s = natsConnection_Connect(&nc, opts)
        connection = nc
        if s == NATS_OK {
            connectedAtOnce = true
        } else if s == NATS_NOT_YET_CONNECTED {
            Log.warning("nats", "\(role): could not connect to nats servers yet: trying again in the background")
        } else {
            Log.error("nats", "\(role): could not connect to nats servers [\(Self.text(s))]")
        }
        return nc != nil
    }

    /// Whether the connection is up now.
    var isConnected: Bool {
        guard let connection else { return false }
        return natsConnection_Status(connection) == NATS_CONN_STATUS_CONNECTED
    }

    /// Closes the connection (pending subscriptions' waits return at once).
    func close() {
        if let connection { natsConnection_Close(connection) }
    }

    // MARK: callbacks (on libnats' threads)

    private func connected() {
        Log.info("nats", "\(role): connected to \(connectedURL)")
        events.run(NATSEventRoutes.connected)
    }

    private func disconnected() {
        Log.warning("nats", "\(role): disconnected from the nats server")
        events.run(NATSEventRoutes.disconnected)
    }

    private func closed(_ nc: OpaquePointer?) {
        var err: UnsafePointer<CChar>?
        natsConnection_GetLastError(nc, &err)
        Log.info("nats", "connect failed: \(err.map { String(cString: $0) } ?? "")")
    }

    private var connectedURL: String {
        guard let connection else { return "" }
        var buffer = [CChar](repeating: 0, count: NATSModule.maximumURLLength + 1)
        guard natsConnection_GetConnectedUrl(connection, &buffer, buffer.count) == NATS_OK else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    private static func from(_ closure: UnsafeMutableRawPointer?) -> NATSConnection? {
        closure.map { Unmanaged<NATSConnection>.fromOpaque($0).takeUnretainedValue() }
    }

    /// libnats' text for a status.
    static func text(_ s: natsStatus) -> String { String(cString: natsStatus_GetText(s)) }

    /// Calls `body` with the strings as a C array of C strings.
    static func withCStrings<R>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { for c in copies { free(c) } }
        var pointers = copies.map { UnsafePointer<CChar>($0) }
        return pointers.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}
