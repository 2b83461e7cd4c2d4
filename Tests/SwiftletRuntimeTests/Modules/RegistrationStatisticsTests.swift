import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private let kamcmdPath = "/usr/sbin/kamcmd"

/// usrloc's and registrar's statistics through `kamcmd stats.get_statistics` (ctl's binrpc)
/// against the running server, beside Debian's Kamailio 5.6.3 with the same configuration and
/// REGISTERs: after two accepted and one rejected registration, after the timer removed an
/// expired contact (running `event_route[usrloc:contact-expired]` with `$ulc(exp=>...)`), and
/// after `stats.reset_statistics all`.
@Suite(
    .serialized,
    .enabled(if: FileManager.default.fileExists(atPath: kamcmdPath), "needs kamcmd (apt-get install kamailio)"))
struct RegistrationStatisticsTests {
    static func config(ctl: String, mpath: String?) -> String {
        """
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        \(mpath.map { "mpath=\"\($0)\"" } ?? "")
        loadmodule "sl.so"
        loadmodule "tm.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "kex.so"
        loadmodule "xlog.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        loadmodule "ctl.so"
        modparam("ctl", "binrpc", "unix:\(ctl)")
        modparam("usrloc", "timer_interval", 1)
        modparam("registrar", "min_expires", 1)
        modparam("registrar", "max_expires", 7200)
        modparam("registrar", "max_contacts", 5)
        modparam("registrar", "default_expires", 1800)
        modparam("registrar", "default_expires_range", 10)
        modparam("registrar", "expires_range", 20)
        request_route {
            if (is_method("REGISTER")) { save("location", "0x08"); exit; }
            sl_send_reply("404", "Not here");
        }
        event_route[usrloc:contact-expired] {
            xlog("L_NOTICE", "contact expired: $ulc(exp=>aor) $ulc(exp=>addr) $ulc(exp=>callid) $ulc(exp=>user_agent)\\n");
        }
        """
    }

    func kamcmd(_ ctl: String, _ args: [String]) throws -> String {
        try runProgram(kamcmdPath, ["-s", "unix:\(ctl)"] + args).stdout
    }

    /// Registers, waits for the expiry, resets: what kamcmd printed at each step.
    func exchange(port: Int, ctl: String, expiry: Bool = true, log: () -> String) throws -> [String] {
        let client = UDPClient()
        var cseq = 0
        func register(_ user: String, _ contacts: String) -> String {
            cseq += 1
            client.send(
                "REGISTER sip:127.0.0.1:\(port) SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:\(client.port);branch=z9hG4bKreg\(cseq)\r\n"
                    + "From: <sip:\(user)@127.0.0.1>;tag=a\(cseq)\r\nTo: <sip:\(user)@127.0.0.1>\r\nCall-ID: reg-\(user)\r\n"
                    + "CSeq: \(cseq) REGISTER\r\nContact: \(contacts)\r\nUser-Agent: ua-\(user)\r\n"
                    + "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", to: port)
            return client.receive(timeout: 5)?.components(separatedBy: "\r\n").first ?? "no reply"
        }
        #expect(
            register("alice", "<sip:alice@127.0.0.1:5991>;expires=600, <sip:alice@127.0.0.1:5992>;expires=2")
                == "SIP/2.0 200 OK")
        #expect(register("bob", "<sip:bob@127.0.0.1:5993>") == "SIP/2.0 200 OK")
        #expect(register("carol", "<sip:carol@127.0.0.1:5994>;q=7") == "SIP/2.0 400 Bad Request")
        var out = [
            try kamcmd(ctl, ["stats.get_statistics", "usrloc:"]),
            try kamcmd(ctl, ["stats.get_statistics", "registrar:"]),
        ]
        // The timer (every second) removes alice's second contact 2 s after the REGISTER.
        let deadline = Date().addingTimeInterval(8)
        while expiry, !log().contains("contact expired:"), Date() < deadline { usleep(100_000) }
        out.append(try kamcmd(ctl, ["stats.get_statistics", "usrloc:"]))
        _ = try kamcmd(ctl, ["stats.reset_statistics", "all"])
        out.append(try kamcmd(ctl, ["stats.get_statistics", "usrloc:", "registrar:"]))
        return out
    }

    @Test func statisticsAfterRegistrationsAndAnExpiry() throws {
        let dir = TemporaryDirectory()
        let server = try TestServer(config: Self.config(ctl: dir.path + "/ctl.sock", mpath: nil))
        defer { _ = server.stop() }
        let ours = try exchange(port: server.port, ctl: dir.path + "/ctl.sock") { server.log }
        #expect(ours == Self.expected(ranges: (10, 20)), "\(ours)\n\(server.log.suffix(2000))")
        #expect(
            server.log.contains("contact expired: alice sip:alice@127.0.0.1:5992 reg-alice ua-alice\n"),
            "\(server.log.suffix(2000))")

        guard kamailioPath != nil else { return }
        let kdir = TemporaryDirectory()
        let kamailio = try KamailioTestServer(config: Self.config(ctl: kdir.path + "/ctl.sock", mpath: kamailioModules))
        defer { kamailio.stop() }
        let theirs = try exchange(port: kamailio.port, ctl: kdir.path + "/ctl.sock", expiry: false) { kamailio.log }
        // Kamailio shows 0 for both ranges, whatever they are set to (it never sets them).
        // Its timer runs on SIGALRM, which the test runner's threads block and Kamailio
        // inherits: no expiry here (run by hand, it prints the same values after the expiry
        // and the reset as Swiftlet, and the same event_route line).
        #expect(Array(theirs.prefix(2)) == Array(Self.expected(ranges: (0, 0)).prefix(2)), "\(theirs)")
    }

    /// What kamcmd prints at each step, with the ranges `registrar:default_expires_range` and
    /// `registrar:expires_range` show.
    static func expected(ranges: (Int, Int)) -> [String] {
        let registrar = { (accepted: Int, rejected: Int) in
            """
            registrar:accepted_regs = \(accepted)
            registrar:default_expire = 1800
            registrar:default_expires_range = \(ranges.0)
            registrar:expires_range = \(ranges.1)
            registrar:max_contacts = 5
            registrar:max_expires = 7200
            registrar:rejected_regs = \(rejected)

            """
        }
        let usrloc = { (contacts: Int, expired: Int) in
            """
            usrloc:location_contacts = \(contacts)
            usrloc:location_expires = \(expired)
            usrloc:location_users = 2
            usrloc:registered_users = 2

            """
        }
        return [usrloc(3, 0), registrar(2, 1), usrloc(2, 1), usrloc(2, 0) + registrar(0, 0)]
    }
}
