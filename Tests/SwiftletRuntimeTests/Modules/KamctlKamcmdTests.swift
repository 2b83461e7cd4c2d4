import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private let kamctlPath = "/usr/sbin/kamctl"
private let kamcmdPath = "/usr/sbin/kamcmd"

/// Debian's `kamctl` (RPCFIFO engine: jsonrpcs' FIFO) and `kamcmd` (binrpc through ctl)
/// against a running Swiftlet with usrloc and registrar: `kamctl ul show`, `kamctl stats`,
/// `kamctl rpc`, `kamcmd ul.dump` print what they print against Kamailio 5.6.3 with the same
/// configuration and REGISTER (captured with Debian's kamailio), but for the values that
/// differ from run to run (expiry, times, ruid, port, the request id).
@Suite(
    .serialized,
    .enabled(
        if: FileManager.default.fileExists(atPath: kamctlPath) && FileManager.default.fileExists(atPath: kamcmdPath),
        "needs kamctl and kamcmd (apt-get install kamailio)"))
struct KamctlKamcmdTests {
    let dir = TemporaryDirectory()
    let server: TestServer
    var fifo: String { dir.path + "/rpc.fifo" }
    var ctlSocket: String { dir.path + "/ctl.sock" }

    init() throws {
        server = try TestServer(
            config: """
                children=1
                listen=udp:127.0.0.1:PORT
                loadmodule "sl.so"
                loadmodule "tm.so"
                loadmodule "pv.so"
                loadmodule "kex.so"
                loadmodule "textops.so"
                loadmodule "usrloc.so"
                loadmodule "registrar.so"
                loadmodule "ctl.so"
                loadmodule "jsonrpcs.so"
                modparam("ctl", "binrpc", "unix:\(dir.path)/ctl.sock")
                modparam("jsonrpcs", "fifo_name", "\(dir.path)/rpc.fifo")
                modparam("jsonrpcs", "dgram_socket", "\(dir.path)/rpc.sock")
                request_route {
                	if (is_method("REGISTER")) { save("location"); exit; }
                	sl_send_reply("404", "Not here");
                }
                """)
        // The FIFO is served once the main process ran child_init(0).
        for _ in 0..<100 where !(try kamctl(["rpc", "core.version"]).contains("result")) { usleep(50_000) }
        let client = UDPClient()
        client.send(
            "REGISTER sip:127.0.0.1:\(server.port) SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:\(client.port);branch=z9hG4bKreg1\r\n"
                + "From: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: reg-alice-1\r\n"
                + "CSeq: 1 REGISTER\r\nContact: <sip:alice@127.0.0.1:5998>;expires=600\r\nUser-Agent: opstest\r\n"
                + "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", to: server.port)
        guard client.receive(timeout: 5)?.hasPrefix("SIP/2.0 200 OK") == true else {
            throw TestFailure("REGISTER not answered: \(server.log)")
        }
    }

    /// kamctl with the RPCFIFO engine on our FIFO (kamctlrc leaves RPCFIFOPATH to the environment).
    func kamctl(_ args: [String]) throws -> String {
        try runProgram("/usr/bin/env", ["RPCFIFOPATH=\(fifo)", "CTLENGINE=RPCFIFO", kamctlPath] + args).stdout
    }

    func kamcmd(_ args: [String]) throws -> String {
        try runProgram(kamcmdPath, ["-s", "unix:\(ctlSocket)"] + args).stdout
    }

    /// The text with the values that change from run to run replaced by `*`.
    static func normalized(_ text: String) -> String {
        let keys = ["Expires", "Ruid", "Last-Keepalive", "Last-Modified", "Socket", "id"]
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            for k in keys {
                for sep in ["\":", ":"] {
                    let prefix = (sep == "\":" ? "\"" + k : k) + sep
                    let trimmed = line.drop { $0 == " " || $0 == "\t" }
                    if trimmed.hasPrefix(prefix) {
                        let indent = line.prefix(line.count - trimmed.count)
                        let after = trimmed.dropFirst(prefix.count)
                        let space = after.prefix { $0 == " " || $0 == "\t" }
                        let comma = after.hasSuffix(",") ? "," : ""
                        return indent + prefix + space + "*" + comma
                    }
                }
            }
            return String(line)
        }.joined(separator: "\n")
    }

    /// `kamctl ul show` against Kamailio 5.6.3 (expand -t 2 of its FIFO reply through
    /// kamctl's filter_json, which leaves the odd `  ],`).
    static let kamailioULShow = """
        {
          "jsonrpc":  "2.0",
          "result": {
            "Domains":  [{
                "Domain": {
                  "Domain": "location",
                  "Size": 1024,
                  "AoRs": [{
                      "Info": {
                        "AoR":  "alice",
                        "HashID": 1834153949,
                        "Contacts": [{
                            "Contact":  {
                              "Address":  "sip:alice@127.0.0.1:5998",
                              "Expires":  *,
                              "Q":  -1,
                              "Call-ID":  "reg-alice-1",
                              "CSeq": 1,
                              "User-Agent": "opstest",
                              "Received": "[not set]",
                              "Path": "[not set]",
                              "State":  "CS_NEW",
                              "Flags":  0,
                              "CFlags": 0,
                              "Socket": *,
                              "Methods":  4294967295,
                              "Ruid": *,
                              "Instance": "[not set]",
                              "Reg-Id": 0,
                              "Server-Id":  0,
                              "Tcpconn-Id": -1,
                              "Keepalive":  0,
                              "Last-Keepalive": *,
                              "KA-Roundtrip": 0,
                              "Last-Modified":  *
                            }
                          }]
                      }
                    }
          ],
                  "Stats":  {
                    "Records":  1,
                    "Max-Slots":  1
                  }
                }
              }]
          },
          "id": *
        }

        """

    /// `kamcmd ul.dump` against Kamailio 5.6.3.
    static let kamailioULDump = """
        {
        	Domains: {
        		Domain: {
        			Domain: location
        			Size: 1024
        			AoRs: {
        				Info: {
        					AoR: alice
        					HashID: 1834153949
        					Contacts: {
        						Contact: {
        							Address: sip:alice@127.0.0.1:5998
        							Expires: *
        							Q: -1
        							Call-ID: reg-alice-1
        							CSeq: 1
        							User-Agent: opstest
        							Received: [not set]
        							Path: [not set]
        							State: CS_NEW
        							Flags: 0
        							CFlags: 0
        							Socket: *
        							Methods: -1
        							Ruid: *
        							Instance: [not set]
        							Reg-Id: 0
        							Server-Id: 0
        							Tcpconn-Id: -1
        							Keepalive: 0
        							Last-Keepalive: *
        							KA-Roundtrip: 0
        							Last-Modified: *
        						}
        					}
        				}
        			}
        			Stats: {
        				Records: 1
        				Max-Slots: 1
        			}
        		}
        	}
        }

        """

    @Test func kamctlULShowPrintsWhatItPrintsForKamailio() throws {
        let out = try kamctl(["ul", "show"])
        #expect(Self.normalized(out) == Self.kamailioULShow, "\(out)")
    }

    @Test func kamcmdULDumpPrintsWhatItPrintsForKamailio() throws {
        let out = try kamcmd(["ul.dump"])
        #expect(Self.normalized(out) == Self.kamailioULDump, "\(out)")
        #expect(try kamcmd(["core.version"]).hasPrefix("swiftlet "))
    }

    /// `kamctl stats`: stats.get_statistics all, Kamailio's `group:name = value` lines.
    @Test func kamctlStatsListsTheCounters() throws {
        let out = try kamctl(["stats"])
        #expect(out.hasPrefix("{\n  \"jsonrpc\":  \"2.0\",\n  \"result\": [\n    \"core:"), "\(out)")
        #expect(out.contains("\n    \"core:rcv_requests = 1\",\n"), "\(out)")
        let registrar = try kamctl(["stats", "registrar"])
        #expect(registrar.contains("\"registrar:accepted_regs = 1\""), "\(registrar)")
    }

    /// `kamctl rpc` sends any command through the FIFO; `swiftletctl -f` does the same.
    @Test func rawRPCThroughTheFIFO() throws {
        let out = try kamctl(["rpc", "core.echo", "abc", "def"])
        #expect(
            Self.normalized(out)
                == "{\n  \"jsonrpc\":  \"2.0\",\n  \"result\": [\n    \"abc\",\n    \"def\"\n  ],\n  \"id\": *\n}\n",
            "\(out)")
        let ctl = try runProgram(productsDirectory + "/swiftletctl", ["-f", fifo, "core.echo", "abc", "def"]).stdout
        #expect(ctl == "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t[\"abc\", \"def\"],\n\t\"id\":\t1\n}\n", "\(ctl)")
    }
}
