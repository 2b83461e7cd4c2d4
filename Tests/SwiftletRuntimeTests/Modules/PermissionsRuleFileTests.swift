import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// permissions' allow/deny files: `allow_routing`, `allow_register`, `allow_uri` and the
    /// `permissions.testUri`/`allowUri` RPCs (the module loads with a database as in the stock
    /// configuration; the files need none).
    @Suite struct PermissionsRuleFileTests {
        static let engines = DatabaseEngine.allCases.filter(\.isInstalled).prefix(1)

        static func files(_ dir: String) throws {
            let files = [
                "routing.allow": """
                # From : Request-URI
                "^sip:alice@" : ALL
                ALL : "^sip:911@", "^sip:112@"   # emergency numbers
                """,
                "routing.deny": """
                ALL : "^sip:00[0-9]*@"
                "^sip:mallory@" : ALL EXCEPT "^sip:911@"
                """,
                "register.allow": #""^sip:alice@" : "^sip:alice@192\.0\.2\.""#,
                "register.deny": "ALL : ALL",
            ]
            for (name, text) in files {
                try (text + "\n").write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            }
        }

        static func route(_ dir: String) -> String {
            """
            if ($hdr(X-Fn) == "register") {
                allow_register("\(dir)/register");
                $var(rc) = $rc;
            } else if ($hdr(X-Fn) == "uri") {
                allow_uri("\(dir)/routing", "$hdr(X-Check)");
                $var(rc) = $rc;
            } else if ($hdr(X-Fn) == "default") {
                allow_routing();
                $var(rc) = $rc;
            } else {
                if (is_present_hf("X-Branch")) { append_branch("$hdr(X-Branch)"); }
                allow_routing("\(dir)/routing.allow", "\(dir)/routing.deny");
                $var(rc) = $rc;
            }
            append_to_reply("X-RC: $var(rc)\\r\\n");
            """
        }

        static func request(
            method: String = "INVITE", uri: String, from: String, fn: String = "routing", extra: [String] = [],
            contacts: [String] = []
        ) -> String {
            DBModuleTestCore.request(
                method: method, uri: uri, from: from, to: method == "REGISTER" ? from : nil,
                contacts: contacts
            )
            .replacingOccurrences(
                of: "Max-Forwards: 70", with: (["Max-Forwards: 70", "X-Fn: \(fn)"] + extra).joined(separator: "\r\n"))
        }

        @Test(arguments: engines) func allowDenyFiles(_ engine: DatabaseEngine) throws {
            let dir = TemporaryDirectory()
            try Self.files(dir.path)
            try engine.createSchema(["version", "address", "trusted"])
            let c = try DBModuleTestCore(
                engine, module: "permissions",
                params: """
                    loadmodule "corex.so"
                    modparam("permissions", "default_allow_file", "\(dir.path)/routing.allow")
                    modparam("permissions", "default_deny_file", "\(dir.path)/routing.deny")
                    """, route: Self.route(dir.path))
            defer { c.shutdown() }
            func rc(_ r: String) -> String? { c.run(r)["X-RC"]?.first }
            // allow_routing: the allow file first, then the deny file, else allowed.
            #expect(rc(Self.request(uri: "sip:0049@gw.example.com", from: "sip:alice@a.org")) == "1")
            #expect(rc(Self.request(uri: "sip:0049@gw.example.com", from: "sip:bob@a.org")) == "-1")
            #expect(rc(Self.request(uri: "sip:123@gw.example.com", from: "sip:bob@a.org")) == "1")
            #expect(rc(Self.request(uri: "sip:911@gw.example.com", from: "sip:mallory@a.org")) == "1")
            #expect(rc(Self.request(uri: "sip:123@gw.example.com", from: "sip:mallory@a.org")) == "-1")
            // check_all_branches: a denied branch denies the request.
            #expect(
                rc(Self.request(uri: "sip:123@gw.example.com", from: "sip:bob@a.org", extra: ["X-Branch: sip:0049@gw"]))
                    == "-1")
            // The default files.
            #expect(rc(Self.request(uri: "sip:0049@gw.example.com", from: "sip:bob@a.org", fn: "default")) == "-1")
            #expect(rc(Self.request(uri: "sip:0049@gw.example.com", from: "sip:alice@a.org", fn: "default")) == "1")
            // allow_register: To against each Contact; `*` and no Contact are allowed.
            func register(_ user: String, _ contacts: [String]) -> String? {
                rc(
                    Self.request(
                        method: "REGISTER", uri: "sip:a.org", from: "sip:\(user)@a.org", fn: "register",
                        contacts: contacts))
            }
            #expect(register("alice", ["<sip:alice@192.0.2.10:5070>"]) == "1")
            #expect(register("alice", ["<sip:alice@192.0.2.10:5070>", "<sip:alice@10.0.0.1>"]) == "-1")
            #expect(register("bob", ["<sip:bob@192.0.2.10>"]) == "-1")
            #expect(register("bob", ["*"]) == "1")
            #expect(register("bob", []) == "1")
            // allow_uri: From against the PV's value.
            #expect(
                rc(Self.request(uri: "sip:x@y", from: "sip:bob@a.org", fn: "uri", extra: ["X-Check: sip:0049@gw"]))
                    == "-1")
            #expect(
                rc(Self.request(uri: "sip:x@y", from: "sip:alice@a.org", fn: "uri", extra: ["X-Check: sip:0049@gw"]))
                    == "1")
            // The RPCs test a loaded basename.
            let base = dir.path + "/routing"
            #expect(
                try c.rpc("permissions.testUri", [.string(base), .string("sip:bob@a.org"), .string("sip:0049@gw")])
                    .get()
                    == .string("Denied"))
            #expect(
                try c.rpc("permissions.allowUri", [.string(base), .string("sip:alice@a.org"), .string("sip:0049@gw")])
                    .get() == .string("Allowed"))
            #expect(
                try c.rpc("permissions.testUri", [.string(dir.path + "/none"), .string("sip:a@b"), .string("sip:c@d")])
                    .get() == .string("Denied"))
            #expect(
                c.rpc("permissions.testUri", [.string(base)])
                    == .failure(RPCError(500, "Not enough parameters (basename, URI and contact)")))
        }
    }
}
