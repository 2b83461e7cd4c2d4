import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// The regex module on the embedded core: PCRE syntax in `pcre_match`, the group file, the
/// compile flags and `regex.reload` through the core's RPC layer.
@Suite struct RegexModuleTests {
    static func core(file: String?, params: String = "", route: String) throws -> EmbeddedCore {
        try EmbeddedCore(
            config: """
                log_stderror=yes
                debug=-1
                listen=udp:127.0.0.1:5060
                loadmodule "sl.so"
                loadmodule "textops.so"
                loadmodule "regex.so"
                \(file.map { "modparam(\"regex\", \"file\", \"\($0)\")" } ?? "")
                \(params)
                request_route {
                \(route)
                    sl_send_reply("200", "OK");
                }
                """, modulePath: productsDirectory)
    }

    static let invite = ScriptHarness.request(uri: "sip:+4930123@example.com", userAgent: "Phone/1.2 (lab)")

    /// The X-R header the script appended to its reply.
    func result(_ core: EmbeddedCore) -> String? {
        core.receive(Self.invite, from: "127.0.0.1:5070")
        let lines = core.takeSent().last?.text.components(separatedBy: "\r\n") ?? []
        return lines.first { $0.hasPrefix("X-R: ") }.map { String($0.dropFirst(5)) }
    }

    /// Appends `$rc` of each call in `calls` to the X-R header, separated by spaces.
    static func route(_ calls: [String]) -> String {
        calls.map { "    \($0); $var(r) = $var(r) + \" \" + $rc;" }.joined(separator: "\n")
            + "\n    append_to_reply(\"X-R:$var(r)\\r\\n\");"
    }

    @Test func pcreMatchUsesPCRESyntax() throws {
        let core = try Self.core(
            file: nil,
            route: "    $var(r) = \"\";\n"
                + Self.route([
                    #"pcre_match("$rU", "^\+\d{7}$")"#, #"pcre_match("$ua", "^Phone/(?=\d)")"#,
                    #"pcre_match("$ua", "^phone")"#, #"pcre_match("$rU", "([")"#, #"pcre_match_group("$rU")"#,
                ]))
        #expect(result(core) == "1 1 -1 -4 -2")
    }

    @Test func compileFlagsApply() throws {
        let core = try Self.core(
            file: nil, params: #"modparam("regex", "pcre_caseless", 1) modparam("regex", "pcre_extended", 1)"#,
            route: "    $var(r) = \"\";\n" + Self.route([#"pcre_match("$ua", "^ phone / \d")"#]))
        #expect(result(core) == "1")
    }

    @Test func groupsComeFromTheFileAndReloadOverRPC() throws {
        let dir = TemporaryDirectory()
        let path = dir.write(
            "groups.txt",
            """
            ### groups
            [0]
            ^\\+49
            ^\\+33

            [1]
            # none yet
            [2]
            ^\\+1\\d{3}$
            """)
        let core = try Self.core(
            file: path,
            route: "    $var(r) = \"\";\n"
                + Self.route([
                    #"pcre_match_group("$rU")"#, #"pcre_match_group("$rU", "0")"#, #"pcre_match_group("+331", "0")"#,
                    #"pcre_match_group("", "1")"#, #"pcre_match_group("x", "1")"#, #"pcre_match_group("+1555", "2")"#,
                    #"pcre_match_group("$rU", "3")"#,
                ]))
        #expect(result(core) == "1 1 1 1 -1 1 -4")

        _ = dir.write("groups.txt", "[0]\n^\\+33\n[1]\n^\\+49\n")
        #expect(core.context.rpcs.call(RPCRequest(method: "regex.reload", params: [])) == .success(.null))
        #expect(result(core) == "-1 -1 1 -1 -1 -4 -4")

        // A file that does not compile keeps the groups in use.
        _ = dir.write("groups.txt", "[0]\n([\n")
        #expect(
            core.context.rpcs.call(RPCRequest(method: "regex.reload", params: []))
                == .failure(RPCError(500, "Failed to reload")))
        #expect(result(core) == "-1 -1 1 -1 -1 -4 -4")
    }

    @Test func reloadWithoutAFileIsRefused() throws {
        let core = try Self.core(file: nil, route: "")
        #expect(
            core.context.rpcs.call(RPCRequest(method: "regex.reload", params: []))
                == .failure(RPCError(500, "Group matching not enabled")))
    }

    @Test func badGroupFilesStopStartUp() {
        let dir = TemporaryDirectory()
        for (i, text) in ["x\n[0]\n", "# only comments\n", "[0]\n[1]\n[2]\n"].enumerated() {
            let path = dir.write("bad\(i).txt", text)
            #expect(throws: (any Error).self) {
                try Self.core(file: path, params: #"modparam("regex", "max_groups", 2)"#, route: "")
            }
        }
    }

    @Test func aMissingGroupFileStopsStartUp() {
        #expect(throws: (any Error).self) { try Self.core(file: "/nonexistent/groups.txt", route: "") }
    }
}
