import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// `event_route[usrloc:contact-expired]` (registrar) on the virtual clock: the usrloc timer
/// runs it for each contact it removes because it expired, with the contact in
/// `$ulc(exp=>...)`; not for a contact a REGISTER removes, nor for one still valid.
@Suite struct UsrlocExpiredEventTests {
    /// The event route appends `[aor addr domain callid user_agent count]` to `$shv(expired)`
    /// and keeps the expiry and ruid in `$shv(exp)`, `$shv(ruid)`; a request that is no
    /// REGISTER is answered with them.
    static func config(_ params: String = "") -> String {
        """
        log_stderror=yes
        debug=-1
        listen=udp:127.0.0.1:5060
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "textops.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        modparam("usrloc", "timer_interval", 10)
        modparam("pv", "shvset", "expired=s:")
        modparam("pv", "shvset", "exp=i:0")
        modparam("pv", "shvset", "ruid=s:")
        \(params)
        request_route {
            if (is_method("REGISTER")) { save("location"); exit; }
            sl_send_reply("200", "$shv(expired) exp=$shv(exp) ruid=$shv(ruid)");
        }
        event_route[usrloc:contact-expired] {
            $shv(expired) = $shv(expired) + "[" + $ulc(exp=>aor) + " " + $ulc(exp=>addr) + " " + $ulc(exp=>domain)
                + " " + $ulc(exp=>callid) + " " + $ulc(exp=>user_agent) + " " + $ulc(exp=>count) + "]";
            $shv(exp) = $ulc(exp=>expires);
            $shv(ruid) = $ulc(exp=>ruid);
        }

        """
    }

    func reason(_ core: EmbeddedCore) -> String {
        core.receive(RegistrarModuleTests.request("OPTIONS", user: "x"), from: "127.0.0.1:5090")
        let line = core.takeSent().last?.firstLine ?? ""
        return String(line.dropFirst("SIP/2.0 200 ".count))
    }

    @Test func theTimerRunsTheRouteForEachExpiredContact() throws {
        let core = try EmbeddedCore(config: Self.config(), modulePath: productsDirectory)
        let start = Int(Date().timeIntervalSince1970)
        core.receive(
            RegistrarModuleTests.register(
                contacts: ["<sip:alice@10.0.0.1>;expires=60", "<sip:alice@10.0.0.2>;expires=600"]),
            from: RegistrarModuleTests.phone)
        core.receive(
            RegistrarModuleTests.register(user: "bob", contacts: ["<sip:bob@10.0.0.3>;expires=30"], callID: "reg-b"),
            from: RegistrarModuleTests.phone)
        // bob unregisters: no event for a contact a REGISTER removes.
        core.receive(
            RegistrarModuleTests.register(
                user: "bob", contacts: ["<sip:bob@10.0.0.3>"], expires: 0, cseq: 2, callID: "reg-b"),
            from: RegistrarModuleTests.phone)
        #expect(core.takeSent().map(\.firstLine) == Array(repeating: "SIP/2.0 200 OK", count: 3))
        core.advance(milliseconds: 50_000)
        #expect(reason(core) == " exp=0 ruid=")
        core.advance(milliseconds: 20_000)
        // alice's first contact expired at 60 s; the timer at 70 s removed it.
        let r = reason(core)
        #expect(r.hasPrefix("[alice sip:alice@10.0.0.1 location reg-1 phone/1.0 1] exp="), "\(r)")
        let exp = Int(r.split(separator: " ").first { $0.hasPrefix("exp=") }?.dropFirst(4) ?? "") ?? 0
        #expect(abs(exp - (start + 60)) <= 2, "\(r)")
        #expect(r.range(of: #" ruid=uloc-[0-9a-f]+-[0-9a-f]+-1$"#, options: .regularExpression) != nil, "\(r)")
        // The other contact stays until 600 s.
        core.advance(milliseconds: 500_000)
        #expect(reason(core).hasPrefix("[alice sip:alice@10.0.0.1 location reg-1 phone/1.0 1] exp="))
        core.advance(milliseconds: 40_000)
        #expect(
            reason(core).hasPrefix(
                "[alice sip:alice@10.0.0.1 location reg-1 phone/1.0 1][alice sip:alice@10.0.0.2 location reg-1 phone/1.0 1]"
            ))
    }

    @Test func noRouteNoCallback() throws {
        // Without the event route registrar registers no callback: the timer removes the
        // contact and nothing else runs.
        let config = Self.config().replacingOccurrences(
            of: "event_route[usrloc:contact-expired]", with: "route[unused]")
        let core = try EmbeddedCore(config: config, modulePath: productsDirectory)
        core.receive(
            RegistrarModuleTests.register(contacts: ["<sip:alice@10.0.0.1>;expires=60"]),
            from: RegistrarModuleTests.phone)
        _ = core.takeSent()
        core.advance(milliseconds: 70_000)
        #expect(reason(core) == " exp=0 ruid=")
        #expect(
            core.context.rpcs.call(RPCRequest(method: "ul.lookup", params: [.string("location"), .string("alice")]))
                == .failure(RPCError(500, "AOR not found in location table")))
    }
}
