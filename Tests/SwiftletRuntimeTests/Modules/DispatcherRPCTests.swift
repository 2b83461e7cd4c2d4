import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// Dispatcher's RPCs: reload, add, remove, set_state faults, list modes.
@Suite struct DispatcherRPCTests {
    let base = DispatcherModuleTests()

    func uris(_ core: EmbeddedCore) throws -> [[String]] {
        guard case .array(let records)? = try base.rpc(core, "dispatcher.list", [.string("short")]).get()["RECORDS"]
        else { return [] }
        return records.map { r in
            guard case .array(let t)? = r["SET"]?["TARGETS"] else { return [] }
            return t.map { d in
                if case .string(let u)? = d["DEST"]?["URI"] { return u }
                return "?"
            }
        }
    }

    @Test func reloadReadsTheFileAgainButNotWithinTheDelta() throws {
        let core = try base.core("exit;", list: "1 sip:127.0.0.2:5081\n")
        #expect(try uris(core) == [["sip:127.0.0.2:5081"]])
        _ = base.dir.write("dispatcher.list", "1 sip:127.0.0.2:5081\n1 sip:127.0.0.2:5082\n7 127.0.0.9\n")
        #expect(try base.rpc(core, "dispatcher.reload").get() == .string("Ok. Dispatcher successfully reloaded."))
        // A URI without a scheme gets sip: as in Kamailio.
        // Set 7 is the right child of set 1 in Kamailio's tree: listed first.
        #expect(try uris(core) == [["sip:127.0.0.9"], ["sip:127.0.0.2:5082", "sip:127.0.0.2:5081"]])
        #expect(base.rpc(core, "dispatcher.reload") == .failure(RPCError(500, "Ongoing reload")))
    }

    @Test func addAndRemoveRebuildTheList() throws {
        let core = try base.core(
            "exit;", list: "1 sip:127.0.0.2:5081\n", extra: "modparam(\"dispatcher\", \"reload_delta\", 0)")
        #expect(
            try base.rpc(core, "dispatcher.add", [.int(1), .string("sip:127.0.0.2:5082"), .int(0), .int(5)]).get()
                == .string("Ok. Dispatcher destination added."))
        #expect(try uris(core) == [["sip:127.0.0.2:5082", "sip:127.0.0.2:5081"]])
        #expect(
            try base.rpc(core, "dispatcher.remove", [.int(1), .string("sip:127.0.0.2:5081")]).get()
                == .string("Ok. Dispatcher destination removed."))
        #expect(try uris(core) == [["sip:127.0.0.2:5082"]])
        #expect(base.rpc(core, "dispatcher.add", [.int(1)]) == .failure(RPCError(500, "Invalid Parameters")))
    }

    @Test func setStateFaults() throws {
        let core = try base.core("exit;", list: "1 sip:127.0.0.2:5081 0 0 duid=one\n")
        #expect(
            base.rpc(core, "dispatcher.set_state", [.string("x"), .int(1), .string("sip:127.0.0.2:5081")])
                == .failure(RPCError(500, "Unknown State Value")))
        #expect(
            base.rpc(core, "dispatcher.set_state", [.string("i"), .int(1), .string("sip:127.0.0.2:9")])
                == .failure(RPCError(500, "State Update Failed")))
        #expect(base.rpc(core, "dispatcher.set_state", [.string("i")]) == .failure(RPCError(500, "Invalid Parameters")))
        #expect(
            try base.rpc(core, "dispatcher.set_duid_state", [.string("tp"), .int(1), .string("one")]).get()
                == .string("Ok. Dispatcher state updated."))
        let list = try base.rpc(core, "dispatcher.list", [.string("full")]).get()
        guard case .array(let r)? = list["RECORDS"], case .array(let t)? = r[0]["SET"]?["TARGETS"] else {
            Issue.record("no list")
            return
        }
        #expect(t[0]["DEST"]?["FLAGS"] == .string("TP"))
        #expect(t[0]["DEST"]?["IPADDR"] == .string("127.0.0.2"))
        #expect(t[0]["DEST"]?["PORT"] == .int(5081))
        #expect(t[0]["DEST"]?["ATTRS"]?["DUID"] == .string("one"))
    }

    @Test func anEmptyListIsAFault() throws {
        let core = try base.core("exit;", list: "# nothing\n")
        #expect(base.rpc(core, "dispatcher.list") == .failure(RPCError(500, "No Destination Sets")))
    }
}
