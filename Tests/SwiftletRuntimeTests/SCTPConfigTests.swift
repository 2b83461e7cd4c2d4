import Foundation
import SwiftletRuntime
import SwiftletSDK
import Testing

/// The `(a, b):port` listen form, the SCTP globals and the sctp module's parameters and RPCs,
/// as the configuration loads them (no sockets).
@Suite(.serialized) struct SCTPConfigTests {
    static let base = """
        debug=-1
        loadmodule "sl.so"
        request_route { sl_send_reply("200", "OK"); }

        """

    private func load(_ text: String, listen: [String] = [], edit: (inout CommandLineOptions) -> Void = { _ in })
        throws -> LoadedConfiguration
    {
        var options = CommandLineOptions()
        options.modulePath = productsDirectory
        options.listen = listen
        edit(&options)
        return try ConfigurationLoader.load(text: Self.base + text, file: "sctp.cfg", options: options)
    }

    private func errors(_ text: String) -> String {
        do {
            _ = try load(text)
            return ""
        } catch let e as ConfigLoadError {
            return e.rendered
        } catch {
            return "\(error)"
        }
    }

    @Test func theAddressListGivesOneSocketPerAddressExceptForSCTP() throws {
        let c = try load(
            """
            listen=udp:(127.0.0.1, 127.0.0.2):5071 advertise 192.0.2.1:5080
            listen=tcp:(127.0.0.1,127.0.0.2):5072
            listen=sctp:(127.0.0.1, 127.0.0.2):5073
            listen=(127.0.0.3, 127.0.0.4):5074
            """)
        let l = c.core.listen.map {
            "\($0) \($0.additionalAddresses) \($0.advertisedAddress ?? "-"):\($0.advertisedPort ?? 0)"
        }
        #expect(
            l == [
                "udp:127.0.0.1:5071 [] 192.0.2.1:5080", "udp:127.0.0.2:5071 [] 192.0.2.1:5080",
                "tcp:127.0.0.1:5072 [] -:0", "tcp:127.0.0.2:5072 [] -:0", "sctp:127.0.0.1:5073 [\"127.0.0.2\"] -:0",
                "udp:127.0.0.3:5074 [] -:0", "udp:127.0.0.4:5074 [] -:0", "tcp:127.0.0.3:5074 [] -:0",
                "tcp:127.0.0.4:5074 [] -:0",
            ])
        // Every address of the multi-homed socket is this server.
        #expect(c.context.isMyself("127.0.0.2", 5073))
        #expect(!c.context.isMyself("127.0.0.9", 5073))
    }

    @Test func theCommandLineTakesTheAddressListToo() throws {
        let c = try load("", listen: ["udp:(127.0.0.1, 127.0.0.2):5075/192.0.2.7:5090", "sctp:(127.0.0.1,127.0.0.5)"])
        #expect(
            c.core.listen.map { "\($0) \($0.additionalAddresses) \($0.advertisedAddress ?? "-")" } == [
                "udp:127.0.0.1:5075 [] 192.0.2.7", "udp:127.0.0.2:5075 [] 192.0.2.7",
                "sctp:127.0.0.1:5060 [\"127.0.0.5\"] -",
            ])
    }

    @Test func badAddressListsAreRefused() {
        #expect(
            errors("listen=udp:(127.0.0.1 127.0.0.2):5060\n").contains("expected ',' or ')' in the listen address list")
        )
        #expect(errors("listen=udp:(127.0.0.1, ):5060\n").contains("expected an IP address or host name, found ')'"))
        #expect(errors("listen=ws:127.0.0.1:5060\n").contains("ws listeners are not supported"))
    }

    @Test func theSCTPModuleIsLoadedOnlyWhenAsked() throws {
        func modules(_ text: String) throws -> [String] { try load(text).modules.map(\.name) }
        #expect(try modules("listen=udp:127.0.0.1:5076\n") == ["sl"])
        #expect(try modules("listen=udp:127.0.0.1:5076\nenable_sctp=yes\n") == ["sctp", "sl"])
        #expect(try modules("listen=sctp:127.0.0.1:5076\n") == ["sctp", "sl"])
        // Disabled: neither the module nor the socket.
        let off = try load("listen=sctp:127.0.0.1:5076\nlisten=udp:127.0.0.1:5076\ndisable_sctp=1\n")
        #expect(off.modules.map(\.name) == ["sl"])
        #expect(off.core.listen.map(\.description) == ["udp:127.0.0.1:5076"])
        let no = try load("listen=sctp:127.0.0.1:5076\nlisten=udp:127.0.0.1:5076\nenable_sctp=no\n")
        #expect(no.core.listen.map(\.description) == ["udp:127.0.0.1:5076"])
        // Loaded by the configuration itself, as in Kamailio, with its parameters.
        #expect(try modules("listen=udp:127.0.0.1:5076\nloadmodule \"sctp.so\"\n") == ["sl", "sctp"])
    }

    @Test func theSCTPGlobals() throws {
        var c = try load("listen=udp:127.0.0.1:5077\nenable_sctp=2\nsctp_children=3\n").core
        #expect(c.sctp.disable == 2)
        #expect(c.sctp.children == 3)
        c = try load("listen=127.0.0.1:5077\nenable_sctp=1\n").core
        #expect(c.sctp.disable == 0)
        // Explicitly enabled: an address without a protocol gets an SCTP socket too.
        #expect(c.listen.map(\.description) == ["udp:127.0.0.1:5077", "tcp:127.0.0.1:5077", "sctp:127.0.0.1:5077"])
        #expect(try load("listen=udp:127.0.0.1:5077\ndisable_sctp=yes\n").core.sctp.disable == 1)
        // -S and -Q on the command line win.
        let cli = try load("listen=sctp:127.0.0.1:5077\nlisten=udp:127.0.0.1:5077\nsctp_children=2\n") {
            $0.disableSCTP = true
            $0.sctpChildren = 5
        }
        #expect(cli.core.sctp.children == 5)
        #expect(cli.core.listen.map(\.description) == ["udp:127.0.0.1:5077"])
        #expect(cli.modules.map(\.name) == ["sl"])
        #expect(errors("sctp_children=many\n").contains("number expected"))
        #expect(errors("enable_sctp=\"x\"\n").contains("boolean or number expected"))
    }

    @Test func everySCTPModuleParameterAndTheOptionsRPC() throws {
        let names = [
            "sctp_socket_rcvbuf", "sctp_socket_sndbuf", "sctp_autoclose", "sctp_send_ttl", "sctp_send_retries",
            "sctp_assoc_tracking", "sctp_assoc_reuse", "sctp_max_assocs", "sctp_srto_initial", "sctp_srto_max",
            "sctp_srto_min", "sctp_asocmaxrxt", "sctp_init_max_attempts", "sctp_init_max_timeo", "sctp_hbinterval",
            "sctp_pathmaxrxt", "sctp_sack_delay", "sctp_sack_freq", "sctp_max_burst",
        ]
        // Distinct values (send_retries at most 9).
        let values = names.enumerated().map { i, n in
            (n, n == "sctp_send_retries" ? 7 : n == "sctp_assoc_tracking" || n == "sctp_assoc_reuse" ? 1 : 1000 + i)
        }
        let params = values.map { "modparam(\"sctp\", \"\($0.0)\", \($0.1))" }.joined(separator: "\n")
        let c = try load("listen=udp:127.0.0.1:5078\nloadmodule \"sctp.so\"\n\(params)\n")
        guard case .success(.object(let fields)) = c.context.rpcs.call(RPCRequest(method: "sctp.options", params: []))
        else {
            Issue.record("sctp.options failed")
            return
        }
        #expect(fields.map(\.0) == names)
        #expect(fields.map { if case .int(let v) = $0.1 { v } else { -999 } } == values.map(\.1))
        // Without an sctp socket, a socket's options cannot be shown.
        guard case .failure(let e) = c.context.rpcs.call(RPCRequest(method: "sctp.options", params: [.string("first")]))
        else {
            Issue.record("sctp.options first answered without a socket")
            return
        }
        #expect(e.message == "could not find a sctp socket")
        guard case .success(.object(let info)) = c.context.rpcs.call(RPCRequest(method: "sctp.info", params: [])) else {
            Issue.record("sctp.info failed")
            return
        }
        #expect(info.map(\.0) == ["opened_connections", "tracked_connections", "total_connections"])
        #expect(
            errors("loadmodule \"sctp.so\"\nmodparam(\"sctp\", \"sctp_autoclose\", \"x\")\n").contains("sctp_autoclose")
        )
    }

    @Test func tooManySendRetriesAreCapped() throws {
        let c = try load("loadmodule \"sctp.so\"\nmodparam(\"sctp\", \"sctp_send_retries\", 50)\n")
        guard case .success(.object(let fields)) = c.context.rpcs.call(RPCRequest(method: "sctp.options", params: []))
        else {
            Issue.record("sctp.options failed")
            return
        }
        #expect(fields.first { $0.0 == "sctp_send_retries" }.map { "\($0.1)" } == "\(RPCValue.int(9))")
    }
}
