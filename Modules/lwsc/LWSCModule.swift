import CWebsockets
import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio 5.6's lwsc: a WebSocket client over libwebsockets. `lwsc_request` sends a text
/// message and waits for the answer (`$lwsc(rdata)`), `lwsc_notify` only sends; each worker
/// thread keeps one connection per URL and subprotocol, as each Kamailio process does.
final class LWSCModule: @unchecked Sendable {
    /// Microseconds, as Kamailio's parameters.
    var timeoutConnect = 0
    var timeoutSend = 0
    var timeoutRead = 2_000_000
    var timeoutInit = 2_000_000
    /// The subprotocol asked for when the script names none.
    var subprotocol = "kmsg"
    var verbosity = 0
    let slot = LWSCThreadState.newSlot()

    var exports: ModuleExports {
        let e = ModuleExports(name: "lwsc")
        e.parameters = [
            ModuleParameter("timeout_connect", .int { (v: Int) throws(FixupError) in self.timeoutConnect = v }),
            ModuleParameter("timeout_send", .int { (v: Int) throws(FixupError) in self.timeoutSend = v }),
            ModuleParameter("timeout_read", .int { (v: Int) throws(FixupError) in self.timeoutRead = v }),
            ModuleParameter("timeout_init", .int { (v: Int) throws(FixupError) in self.timeoutInit = v }),
            ModuleParameter("protocol", .string { (v: String) throws(FixupError) in self.subprotocol = v }),
            ModuleParameter("verbosity", .int { (v: Int) throws(FixupError) in self.verbosity = v }),
        ]
        e.functions = [
            function("lwsc_request", request: true, withProtocol: false),
            function("lwsc_request_proto", request: true, withProtocol: true),
            function("lwsc_notify", request: false, withProtocol: false),
            function("lwsc_notify_proto", request: false, withProtocol: true),
        ]
        e.pseudoVariables = [pseudoVariable]
        e.initialize = { _ in LWSCModule.setLogging() }
        return e
    }

    /// One of the four functions: (url, data) or (url, subprotocol, data), all formats.
    private func function(_ name: String, request: Bool, withProtocol: Bool) -> ScriptFunction {
        ScriptFunction(name, parameters: withProtocol ? 3 : 2, routes: .any) {
            (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            let url = try args[0].stringFormat()
            let proto = withProtocol ? try args[1].stringFormat() : nil
            let data = try args[withProtocol ? 2 : 1].stringFormat()
            return { [self] ctx in
                let u = url.render(ctx)
                let p = proto?.render(ctx)
                let d = data.render(ctx)
                return request ? self.request(u, p, d) : self.notify(u, p, d)
            }
        }
    }

    /// `lwsc_request`: 1 with the answer in `$lwsc(rdata)`, -2 when none came within
    /// `timeout_read`, -1 on errors (bad parameters or URL, not connected within
    /// `timeout_init`).
    func request(_ url: String, _ proto: String?, _ data: String) -> Int {
        let state = LWSCThreadState.current
        state.setReply(slot, nil)
        guard let ep = readyEndpoint(state, url, proto, data) else { return -1 }
        ep.send(Array(data.utf8), clearReceived: true)
        guard let answer = ep.receive(timeout: timeoutRead) else {
            Log.debug("lwsc", "no response data received before timeout")
            return -2
        }
        state.setReply(slot, String(decoding: answer, as: UTF8.self))
        return 1
    }

    /// `lwsc_notify`: 1 once the message is queued for sending, -1 on errors.
    func notify(_ url: String, _ proto: String?, _ data: String) -> Int {
        guard let ep = readyEndpoint(LWSCThreadState.current, url, proto, data) else { return -1 }
        ep.send(Array(data.utf8), clearReceived: false)
        Log.debug("lwsc", "notification prepared for delivery")
        return 1
    }

    /// The thread's endpoint for the URL and subprotocol (made on first use), once
    /// connected; nil (logged) otherwise.
    private func readyEndpoint(_ state: LWSCThreadState, _ url: String, _ proto: String?, _ data: String)
        -> LWSCEndpoint?
    {
        guard !url.isEmpty, !data.isEmpty else {
            Log.error("lwsc", "invalid parameters")
            return nil
        }
        let subprotocol = proto.flatMap { $0.isEmpty ? nil : $0 } ?? self.subprotocol
        var ep = state.endpoint(slot, url, subprotocol)
        if ep == nil {
            if let made = LWSCEndpoint(
                url: url, subprotocol: subprotocol, connectTimeout: timeoutConnect, verbosity: verbosity),
                made.start()
            {
                state.add(slot, made)
                ep = made
            }
        }
        guard let ep else {
            Log.error("lwsc", "endpoint not available")
            return nil
        }
        guard ep.waitReady(timeout: timeoutInit) else {
            Log.error("lwsc", "connection not ready after init timeout")
            return nil
        }
        return ep
    }

    /// `$lwsc(rdata)`: what the thread's last `lwsc_request` received (null before one, or
    /// when it got nothing); `$lwsc(status)`: 0, as Kamailio 5.6 always gives.
    private var pseudoVariable: PseudoVariableClass {
        PseudoVariableClass("lwsc") { [self] (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            switch pv.inner {
            case "rdata":
                return PseudoVariable(text: pv.text) { [self] _ in
                    LWSCThreadState.current.reply(slot).map(PVValue.string) ?? .null
                }
            case "status":
                return PseudoVariable(text: pv.text) { _ in .int(0) }
            default:
                throw FixupError("unknown inner name [\(pv.inner ?? "")]")
            }
        }
    }

    /// libwebsockets' errors, warnings and notices into the log (Kamailio's lwsc_print_log).
    static func setLogging() {
        lws_set_log_level(LLL_ERR | LLL_WARN | LLL_NOTICE) { level, line in
            guard let line else { return }
            var text = String(cString: line)
            while text.last == "\n" { text.removeLast() }
            if level & LLL_ERR != 0 {
                Log.error("lwsc", "libwebsockets: \(text)")
            } else {
                Log.info("lwsc", "libwebsockets: \(text)")
            }
        }
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "lwsc") { LWSCModule().exports }
}
