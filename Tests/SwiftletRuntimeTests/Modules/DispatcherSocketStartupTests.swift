import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The running binary gives modules its sockets at `mod_init`, as Kamailio does: a
/// dispatcher list entry with `socket=` naming the server's own UDP and TCP sockets is
/// loaded (it used to be skipped: the sockets were made after the modules initialised),
/// `ds_default_socket` is accepted, and a request is dispatched to the entry.
@Suite(.serialized) struct DispatcherSocketStartupTests {
    @Test func listEntriesAndTheDefaultSocketFindTheServersSockets() throws {
        let port = freeUDPPort()
        let target = UDPClient()
        let dir = TemporaryDirectory()
        let list = dir.write(
            "dispatcher.list",
            """
            1 sip:127.0.0.1:\(target.port) 0 0 socket=udp:127.0.0.1:\(port)
            2 sip:127.0.0.1:\(target.port);transport=tcp 0 0 socket=tcp:127.0.0.1:\(port)

            """)
        let server = try TestServer(
            config: """
                #!KAMAILIO
                debug=2
                log_stderror=yes
                children=1
                listen=udp:127.0.0.1:PORT
                listen=tcp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "pv.so"
                loadmodule "xlog.so"
                loadmodule "dispatcher.so"
                modparam("dispatcher", "list_file", "\(list)")
                modparam("dispatcher", "ds_default_socket", "udp:127.0.0.1:PORT")
                request_route {
                    if (!ds_select_dst("1", "4")) { sl_send_reply("503", "No destination"); exit; }
                    xlog("L_INFO", "dispatched to $du from $fs\\n");
                    forward();
                }
                """, port: port)
        defer { _ = server.stop() }
        #expect(!server.log.contains("unable to add destination"), "\(server.log.suffix(2000))")
        let client = UDPClient()
        client.send(
            sipRequest(
                [
                    "OPTIONS sip:ping@127.0.0.1 SIP/2.0", "Via: SIP/2.0/UDP 127.0.0.1:CPORT;branch=z9hG4bK-dss1",
                    "From: <sip:a@127.0.0.1>;tag=1", "To: <sip:ping@127.0.0.1>", "Call-ID: dss-1", "CSeq: 1 OPTIONS",
                    "Max-Forwards: 70", "Content-Length: 0",
                ], clientPort: client.port), to: port)
        let forwarded = try #require(target.receive(timeout: 5), "\(server.log.suffix(2000))")
        #expect(forwarded.hasPrefix("OPTIONS sip:ping@127.0.0.1 SIP/2.0"))
        #expect(forwarded.contains("Via: SIP/2.0/UDP 127.0.0.1:\(port);branch="))
        #expect(
            server.waitForLog("dispatched to sip:127.0.0.1:\(target.port) from udp:127.0.0.1:\(port)", timeout: 5),
            "\(server.log.suffix(1500))")
    }
}
