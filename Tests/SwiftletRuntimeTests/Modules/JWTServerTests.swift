import Foundation
import Testing

/// The jwt module in the running server: requests carrying a JWT in a header (signed by
/// `openssl`, not by the module) are let through or refused by the script.
@Suite(.serialized) struct JWTServerTests {
    static let keys = JWTTestKeys.shared

    @Test func aRequestIsAcceptedOnlyWithAValidTokenForItsCaller() throws {
        let config = """
            log_stderror=yes
            debug=1
            children=2
            listen=udp:127.0.0.1:PORT
            loadmodule "sl.so"
            loadmodule "pv.so"
            loadmodule "textops.so"
            loadmodule "jwt.so"
            modparam("jwt", "key_mode", 1)
            request_route {
                if (!is_present_hf("X-JWT")) { sl_send_reply("401", "Token Required"); exit; }
                if (!jwt_verify("\(Self.keys.rsaPublic)", "RS256", "caller='$fU';callee='$rU'", "$hdr(X-JWT)")) {
                    sl_send_reply("403", "Forbidden $jwt(status)");
                    exit;
                }
                sl_send_reply("200", "OK");
            }
            """
        let server = try TestServer(config: config)
        defer { server.stop() }
        let client = UDPClient()
        let now = Int(Date().timeIntervalSince1970)
        func token(_ payload: String, key: String? = nil) -> String {
            Self.keys.opensslToken(
                header: #"{"alg":"RS256","typ":"JWT"}"#, payload: payload, alg: "RS256",
                keyPath: key ?? Self.keys.rsaPrivate)
        }
        func send(_ jwt: String?, from user: String = "alice", n: Int) -> String {
            var lines = [
                "OPTIONS sip:bob@127.0.0.1:\(server.port) SIP/2.0",
                "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-jwts\(n)", "From: <sip:\(user)@127.0.0.1>;tag=f\(n)",
                "To: <sip:bob@127.0.0.1>", "Call-ID: jwt-server-\(n)", "CSeq: 1 OPTIONS", "Max-Forwards: 70",
            ]
            if let jwt { lines.append("X-JWT: \(jwt)") }
            lines.append("Content-Length: 0")
            client.send(sipRequest(lines, clientPort: client.port), to: server.port)
            return client.receive(timeout: 5).map { replyLines($0)[0] } ?? "no reply"
        }
        let valid = token(#"{"caller":"alice","callee":"bob","exp":\#(now + 300)}"#)
        #expect(send(valid, n: 1) == "SIP/2.0 200 OK")
        #expect(send(valid, from: "mallory", n: 2) == "SIP/2.0 403 Forbidden 256", "claim mismatch: status 0x100")
        #expect(send(nil, n: 3) == "SIP/2.0 401 Token Required")
        let expired = token(#"{"caller":"alice","callee":"bob","exp":\#(now - 1)}"#)
        #expect(send(expired, n: 4) == "SIP/2.0 403 Forbidden 4")
        JWTTestKeys.openssl([
            "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
            Self.keys.directory.path + "/intruder.pem",
        ])
        let forged = token(
            #"{"caller":"alice","callee":"bob","exp":\#(now + 300)}"#, key: Self.keys.directory.path + "/intruder.pem")
        #expect(send(forged, n: 5) == "SIP/2.0 403 Forbidden 0", "wrong key: not decoded")
        #expect(send(valid, n: 6) == "SIP/2.0 200 OK")
    }
}
