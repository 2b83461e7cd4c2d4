import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Path vectors on branches (Kamailio's `path_vec`): a contact registered through a Path
/// keeps it; `lookup()` sets it on the Request-URI and on each appended branch
/// (`$branch(path)`), `append_branch()` keeps it, `t_load_contacts()`/`t_next_contacts()`
/// carry it in the `path` field, and the request sent on the branch carries it as a Route
/// header right after the new Via.
@Suite struct PathVectorBranchTests {
    static let config = """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "corex.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        modparam("registrar", "use_path", 1)
        modparam("tm", "contacts_avp", "tm_contacts")
        request_route {
            if (is_method("REGISTER")) { save("location"); exit; }
            if (is_method("ACK")) { t_check_trans(); exit; }
            if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
            if (is_method("OPTIONS")) {
                append_branch();
                sl_send_reply("200", "n=$branch(count) p0=$branch(path)[0] p1=$branch(path)[1]");
                exit;
            }
            t_load_contacts();
            append_hf("X-Paths: $xavp(tm_contacts=>path) $xavp(tm_contacts[1]=>path)\\r\\n");
            t_next_contacts();
            t_on_failure("next");
            t_relay();
        }
        failure_route[next] {
            if (t_next_contacts()) { t_relay(); }
        }

        """

    static let edge1 = "<sip:edge1@127.0.0.9:5062;lr>"
    static let edge2 = "<sip:edge2@127.0.0.8:5064;lr>"

    /// bob registered twice: `sip:bob@10.0.0.1` through edge1 and `sip:bob@10.0.0.2`
    /// through edge2 (with q 1 and 0.5 when `q`).
    func registeredCore(q: Bool) throws -> EmbeddedCore {
        let core = try EmbeddedCore(config: Self.config, modulePath: productsDirectory)
        for (contact, path, callID) in [
            ("<sip:bob@10.0.0.1>" + (q ? ";q=1" : ""), Self.edge1, "reg-a"),
            ("<sip:bob@10.0.0.2>" + (q ? ";q=0.5" : ""), Self.edge2, "reg-b"),
        ] {
            core.receive(
                RegistrarModuleTests.register(
                    user: "bob", contacts: [contact], callID: callID, extra: ["Path: \(path)", "Supported: path"]),
                from: "127.0.0.1:5070")
            #expect(core.takeSent().map(\.firstLine) == ["SIP/2.0 200 OK"])
        }
        return core
    }

    @Test func lookupAndAppendBranchKeepThePaths() throws {
        let core = try registeredCore(q: true)
        core.receive(RegistrarModuleTests.request("OPTIONS", user: "bob"), from: "127.0.0.1:5090")
        // lookup(): the R-URI is bob@10.0.0.1 (edge1), branch 0 bob@10.0.0.2 (edge2);
        // append_branch() makes the R-URI branch 1 with its path.
        #expect(
            core.takeSent().map(\.firstLine) == [
                "SIP/2.0 200 n=2 p0=\(Self.edge2) p1=\(Self.edge1)"
            ])
    }

    @Test func forkedContactsGoThroughTheirPaths() throws {
        let core = try registeredCore(q: false)
        core.receive(RegistrarModuleTests.request("INVITE", user: "bob"), from: "127.0.0.1:5090")
        let sent = core.takeSent()
        #expect(sent.first?.firstLine == "SIP/2.0 100 trying -- your call is important to us")
        let invites = sent.filter { $0.firstLine.hasPrefix("INVITE ") }
        // One q class: both contacts at once, each to its first Path hop with the Path as
        // a Route header right after tm's Via.
        #expect(
            invites.map { "\($0.firstLine) -> \($0.destination.address)" }.sorted() == [
                "INVITE sip:bob@10.0.0.1 SIP/2.0 -> 127.0.0.9:5062",
                "INVITE sip:bob@10.0.0.2 SIP/2.0 -> 127.0.0.8:5064",
            ])
        for invite in invites {
            let h = TMUACTests.headers(invite.text)
            let edge = invite.firstLine.contains("10.0.0.1") ? Self.edge1 : Self.edge2
            #expect(h.count > 2 && h[0].hasPrefix("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK"))
            #expect(h.count > 2 && h[1] == "Route: \(edge)")
            #expect(h.filter { $0.hasPrefix("Route:") } == ["Route: \(edge)"])
            // t_load_contacts() put both paths in the XAVP.
            let paths = h.first { $0.hasPrefix("X-Paths: ") }.map { $0.dropFirst(9).split(separator: " ").sorted() }
            #expect(paths == [Substring(Self.edge2), Substring(Self.edge1)].sorted())
        }
        // A negative reply is ACKed with the INVITE's Route set.
        guard let first = invites.first else { return }
        let hop = first.destination.address.description
        core.receive(TMModuleTests.reply(to: first, 486, "Busy Here"), from: hop)
        let ack = core.takeSent().filter { $0.firstLine.hasPrefix("ACK ") }
        #expect(ack.count == 1)
        let edge = first.firstLine.contains("10.0.0.1") ? Self.edge1 : Self.edge2
        #expect(ack.first?.text.contains("\r\nRoute: \(edge)\r\n") == true)
    }
}
