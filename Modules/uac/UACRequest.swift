import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// What `$uac_req(...)` holds (Kamailio's `uac_send_info_t`): per worker thread, as
/// Kamailio's is per process.
struct UACRequestInfo {
    var flags = 0
    var method = ""
    var ruri = ""
    var turi = ""
    var furi = ""
    var callid = ""
    var hdrs = ""
    var body = ""
    var ouri = ""
    var sock = ""
    var auser = ""
    var apasswd = ""
    var evroute = 0
    var evcode = 0
    var evtype = 0

    private final class Box {
        var info = UACRequestInfo()
    }
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { if let p = $0 { Unmanaged<Box>.fromOpaque(p).release() } }
        return key
    }()
    private static var box: Box {
        if let p = pthread_getspecific(key) { return Unmanaged<Box>.fromOpaque(p).takeUnretainedValue() }
        let b = Box()
        pthread_setspecific(key, Unmanaged.passRetained(b).toOpaque())
        return b
    }

    /// The calling thread's `$uac_req`.
    static var current: UACRequestInfo {
        get { box.info }
        set { box.info = newValue }
    }

    nonisolated(unsafe) static let stringKeys: [String: WritableKeyPath<UACRequestInfo, String>] = [
        "method": \.method, "ruri": \.ruri, "turi": \.turi, "furi": \.furi, "callid": \.callid, "hdrs": \.hdrs,
        "body": \.body, "ouri": \.ouri, "sock": \.sock, "auser": \.auser, "apasswd": \.apasswd,
    ]
    nonisolated(unsafe) static let intKeys: [String: WritableKeyPath<UACRequestInfo, Int>] = [
        "flags": \.flags, "evroute": \.evroute, "evcode": \.evcode, "evtype": \.evtype,
    ]
}

/// Kamailio's faked message (`core/fmsg.c`): what `event_route[uac:reply]` runs on when no
/// reply came.
private let fakedMessage =
    "OPTIONS sip:you@kamailio.org SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nFrom: <sip:you@kamailio.org>;tag=123\r\nTo: <sip:you@kamailio.org>\r\nCall-ID: 123\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"

extension UACModule {
    /// `$uac_req(name)`.
    func makeRequestPV(_ pv: PseudoVariableName) throws(FixupError) -> PseudoVariable {
        guard let name = pv.inner else { throw FixupError("$uac_req needs a name") }
        if name == "all" {
            return PseudoVariable(
                text: pv.text, get: { _ in .int(UACRequestInfo.current.flags) },
                set: { _, v in
                    if v == .null { UACRequestInfo.current = UACRequestInfo() }
                    return true
                })
        }
        if let key = UACRequestInfo.stringKeys[name] {
            return PseudoVariable(
                text: pv.text,
                get: { _ in
                    let s = UACRequestInfo.current[keyPath: key]
                    return s.isEmpty ? .null : .string(s)
                },
                set: { _, v in
                    switch v {
                    case .null: UACRequestInfo.current[keyPath: key] = ""
                    case .string(let s): UACRequestInfo.current[keyPath: key] = s
                    case .int:
                        Log.error("uac", "Invalid value type")
                        return false
                    }
                    return true
                })
        }
        if let key = UACRequestInfo.intKeys[name] {
            return PseudoVariable(
                text: pv.text, get: { _ in .int(UACRequestInfo.current[keyPath: key]) },
                set: { _, v in
                    switch v {
                    case .null: UACRequestInfo.current[keyPath: key] = 0
                    case .int(let i): UACRequestInfo.current[keyPath: key] = i
                    case .string:
                        Log.error("uac", "Invalid value type")
                        return false
                    }
                    return true
                })
        }
        throw FixupError("unknown uac_req name \(name)")
    }

    var requestSendFunction: ScriptFunction {
        ScriptFunction("uac_req_send", parameters: 0, routes: .any) { (_: [ScriptArgument]) in
            { _ in self.sendRequest() }
        }
    }

    /// Kamailio's `uac_req_send()`: the request of `$uac_req` goes out through tm (To and
    /// From default to the Request-URI); with `evroute` set, `event_route[uac:reply]` runs
    /// for its final reply.
    func sendRequest() -> Int {
        let info = UACRequestInfo.current
        guard !info.ruri.isEmpty, !info.method.isEmpty, let tmUAC else { return -1 }
        var socket: ListeningSocket?
        if !info.sock.isEmpty {
            guard let s = LocalSockets.find(listen: info.sock) else {
                Log.error("uac", "no local socket for \(info.sock)")
                return -1
            }
            socket = s
        }
        let request = LocalRequest(
            method: info.method, requestURI: info.ruri, nextHop: info.ouri.isEmpty ? nil : info.ouri,
            sendSocket: socket,
            from: info.furi.isEmpty ? info.ruri : info.furi, to: info.turi.isEmpty ? info.ruri : info.turi,
            callID: info.callid.isEmpty ? nil : info.callid, headers: info.hdrs, body: Array(info.body.utf8))
        let evroute = info.evroute
        let result = tmUAC.sendRequest(request) { reply in
            guard reply.isFinal else { return }
            // evroute 2: Kamailio's TMCB_ON_FAILURE callback, for negative replies only and
            // without authentication.
            if evroute == 2 {
                if reply.code >= 300 { self.runReplyRoute(info, reply) }
                return
            }
            if evroute != 0 { self.runReplyRoute(info, reply) }
            if reply.code == 401 || reply.code == 407, !info.apasswd.isEmpty {
                self.resendWithCredentials(info, reply)
            }
        }
        if case .failure(let e) = result {
            Log.error("uac", "uac_req_send: \(e)")
            return -1
        }
        return 1
    }

    /// Kamailio's `uac_send_tm_callback` for a 401/407 when `auser`/`apasswd` are set: the
    /// request again, in the same Call-ID with the From tag, CSeq + 1 and the
    /// Authorization header (`flags` bit 1: `apasswd` is the HA1); its final reply runs the
    /// event route too.
    private func resendWithCredentials(_ info: UACRequestInfo, _ reply: LocalReply) {
        guard let tmUAC, let m = reply.message, let cseq = try? m.cseq(), let callID = m.callID,
            let fromField = m.firstHeader(.from), let toField = m.firstHeader(.to),
            let from = try? NameAddr.parse(m.buffer, fromField.valueRange),
            let to = try? NameAddr.parse(m.buffer, toField.valueRange),
            let field = m.headers.first(where: {
                $0.name == (reply.code == 401 ? .wwwAuthenticate : .proxyAuthenticate)
            }),
            let challenge = DigestChallenge(m.value(of: field))
        else {
            Log.error("uac", "failed to extract authenticate hdr")
            return
        }
        let header = UACDigest.header(
            code: reply.code, method: info.method, uri: info.ruri,
            credential: Credential(user: info.auser, realm: challenge.realm, password: info.apasswd),
            ha1Given: info.flags & 1 != 0, challenge: challenge)
        let request = LocalRequest(
            method: info.method, requestURI: info.ruri, nextHop: info.ouri.isEmpty ? nil : info.ouri,
            sendSocket: info.sock.isEmpty ? nil : LocalSockets.find(listen: info.sock),
            from: String(decoding: m.buffer[from.uri], as: UTF8.self), fromTag: m.fromTag,
            to: String(decoding: m.buffer[to.uri], as: UTF8.self), callID: callID, cseq: Int(cseq.number) + 1,
            headers: info.hdrs + header + "\r\n", body: Array(info.body.utf8))
        let evroute = info.evroute != 0
        let result = tmUAC.sendRequest(request) { again in
            if evroute, again.isFinal { self.runReplyRoute(info, again) }
        }
        if case .failure(let e) = result { Log.error("uac", "failed to send request with authentication: \(e)") }
    }

    /// `event_route[uac:reply]` with `$uac_req` as it was sent plus `evcode` and `evtype`
    /// (1: a reply, 2: none, on Kamailio's faked message).
    private func runReplyRoute(_ sent: UACRequestInfo, _ reply: LocalReply) {
        guard let routes = core.routes, routes.eventRouteNames.contains("uac:reply") else { return }
        var info = sent
        info.evcode = reply.code
        let message: SIPMessage
        if let m = reply.message {
            info.evtype = 1
            message = m
        } else {
            info.evtype = 2
            guard let m = try? SIPMessage(parsing: Array(fakedMessage.utf8)) else { return }
            message = m
        }
        let saved = UACRequestInfo.current
        UACRequestInfo.current = info
        defer { UACRequestInfo.current = saved }
        let ctx = MessageContext(
            message: message,
            receive: ReceiveInfo(
                proto: .udp, sourceIP: "127.0.0.1", sourcePort: 5060, localIP: "127.0.0.1", localPort: 5060),
            routeType: .request, core: core)
        _ = routes.runEventRoute("uac:reply", ctx, as: .request)
    }
}
