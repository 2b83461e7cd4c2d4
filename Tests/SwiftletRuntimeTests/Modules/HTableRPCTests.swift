import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

/// htable's RPC commands through the core's RPC layer, `event_route[htable:mod-init]`, and
/// the start-up errors of table definitions.
@Suite struct HTableRPCTests {
    /// The items Kamailio 5.6.3 was given in its mod-init event route for the recorded dump.
    static let modInit = """
        event_route[htable:mod-init] {
            $sht(c=>k1) = "alpha"; $sht(c=>k2) = "beta"; $sht(c=>k3) = "alphabet"; $sht(c=>pre-x) = 1;
            $sht(c=>pre-y) = 2; $sht(c=>other) = "gamma"; $sht(c=>Key) = 1; $sht(c=>key) = 2; $sht(c=>ÄÖ) = 3;
            $sht(c=>192.168.1.1) = 4; $sht(c=>abcdefghij) = 5;
        }
        request_route { drop; }
        """

    static func core(_ routes: String = modInit, tables: [String] = ["c=>size=3"]) throws -> EmbeddedCore {
        try EmbeddedCore(config: HTableModuleTests.config(routes, tables: tables), modulePath: productsDirectory)
    }

    static func call(_ core: EmbeddedCore, _ method: String, _ params: RPCValue...) -> Result<RPCValue, RPCError> {
        core.context.rpcs.call(RPCRequest(method: method, params: params))
    }

    /// `htable.dump` of the mod-init items: slots and order as Kamailio 5.6.3's (recorded
    /// from `kamailio` with the same table and route): names hash case-insensitively
    /// (`Key` and `key` share a slot, in insertion order), bytes as signed chars (`ÄÖ`).
    @Test func dumpListsSlotsInKamailiosOrder() throws {
        let core = try Self.core()
        let dump = try Self.call(core, "htable.dump", .string("c")).get()
        guard case .array(let slots) = dump else {
            Issue.record("not an array: \(dump)")
            return
        }
        let layout = slots.map { slot -> String in
            guard case .int(let entry)? = slot["entry"], case .array(let items)? = slot["slot"] else { return "?" }
            let names = items.compactMap { item -> String? in
                if case .string(let n)? = item["name"] { return n }
                return nil
            }
            return "\(entry):" + names.joined(separator: ",")
        }
        #expect(
            layout == [
                "0:pre-y", "1:pre-x", "2:abcdefghij", "3:k2", "4:k3,192.168.1.1", "5:other,ÄÖ", "6:k1", "7:Key,key",
            ])
        #expect(slots[4]["size"] == .int(2))
        #expect(
            slots[0]["slot"]
                == .array([.object([("name", .string("pre-y")), ("value", .int(2)), ("type", .string("int"))])]))
        #expect(
            slots[3]["slot"]
                == .array([.object([("name", .string("k2")), ("value", .string("beta")), ("type", .string("str"))])]))
    }

    @Test func getSetDeleteFlushAndTheirFaults() throws {
        let core = try Self.core()
        #expect(
            try Self.call(core, "htable.get", .string("c"), .string("k1")).get()
                == .object([
                    (
                        "item",
                        .object([
                            ("name", .string("k1")), ("value", .string("alpha")), ("flags", .int(2)),
                            ("expire", .string("NEVER")),
                        ])
                    )
                ]))
        #expect(
            Self.call(core, "htable.get", .string("c"), .string("nope"))
                == .failure(RPCError(500, "Key name doesn't exist in htable.")))
        #expect(
            Self.call(core, "htable.sets", .string("x"), .string("a"), .string("b"))
                == .failure(RPCError(500, "No such htable")))
        #expect(
            Self.call(core, "htable.sets", .string("c"), .string("a"))
                == .failure(RPCError(500, "Not enough parameters (htable name, key name and value)")))
        #expect(
            Self.call(core, "htable.sets", .string("c"), .string("s"), .string("text"))
                == .success(.string("Ok. Key set to new value.")))
        #expect(
            Self.call(core, "htable.seti", .string("c"), .string("n"), .int(42))
                == .success(.string("Ok. Key set to new value.")))
        #expect(try Self.call(core, "htable.get", .string("c"), .string("n")).get()["item"]?["value"] == .int(42))
        #expect(try Self.call(core, "htable.get", .string("c"), .string("s")).get()["item"]?["flags"] == .int(2))
        #expect(Self.call(core, "htable.delete", .string("c"), .string("n")) == .success(.string("Ok. Key deleted.")))
        #expect(
            Self.call(core, "htable.delete", .string("c"), .string("n"))
                == .failure(RPCError(404, "Key not found in htable.")))
        #expect(
            try Self.call(core, "htable.stats").get()
                == .array([
                    .object([
                        ("name", .string("c")), ("slots", .int(8)), ("all", .int(12)), ("min", .int(1)),
                        ("max", .int(3)),
                    ])
                ]))
        #expect(Self.call(core, "htable.flush", .string("c")) == .success(.string("Ok. Htable flushed.")))
        #expect(
            try Self.call(core, "htable.stats").get()
                == .array([
                    .object([
                        ("name", .string("c")), ("slots", .int(8)), ("all", .int(0)), ("min", .int(0)),
                        ("max", .int(0)),
                    ])
                ]))
        #expect(Self.call(core, "htable.dump", .string("c")) == .success(.array([])))
        #expect(Self.call(core, "htable.dump") == .failure(RPCError(500, "No htable name given")))
    }

    @Test func expiryOverRPCAndListTables() throws {
        let core = try Self.core(
            "request_route { drop; }", tables: ["a=>size=2;autoexpire=30;updateexpire=0", "b=>size=12;initval=5"])
        #expect(
            try Self.call(core, "htable.listTables").get()
                == .array([
                    .object([
                        ("name", .string("b")), ("dbtable", .string("")), ("dbmode", .int(0)), ("expire", .int(0)),
                        ("updateexpire", .int(1)), ("size", .int(4096)), ("dmqreplicate", .int(0)),
                    ]),
                    .object([
                        ("name", .string("a")), ("dbtable", .string("")), ("dbmode", .int(0)), ("expire", .int(30)),
                        ("updateexpire", .int(0)), ("size", .int(4)), ("dmqreplicate", .int(0)),
                    ]),
                ]))
        #expect(
            Self.call(core, "htable.setxi", .string("a"), .string("x"), .int(1), .int(10))
                == .success(.string("Ok. Key set to new value.")))
        #expect(
            Self.call(core, "htable.setxs", .string("a"), .string("y"), .string("v"), .int(100))
                == .success(.string("Ok. Key set to new value.")))
        #expect(Self.call(core, "htable.setex", .string("a"), .string("y"), .int(20)) == .success(.string("Ok")))
        guard
            case .string(let expire)? = try Self.call(core, "htable.get", .string("a"), .string("x")).get()["item"]?[
                "expire"]
        else {
            Issue.record("no expire")
            return
        }
        #expect(expire.count == 19 && expire != "NEVER")
        core.advance(milliseconds: 11_000)
        #expect(
            Self.call(core, "htable.get", .string("a"), .string("x"))
                == .failure(RPCError(500, "Key name doesn't exist in htable.")))
        #expect(try Self.call(core, "htable.get", .string("a"), .string("y")).get()["item"]?["value"] == .string("v"))
        core.advance(milliseconds: 10_000)
        #expect(
            Self.call(core, "htable.get", .string("a"), .string("y"))
                == .failure(RPCError(500, "Key name doesn't exist in htable.")))
    }

    /// A full shared memory pool fails the one write (RPC fault, script assignment refused)
    /// and the table goes on working.
    @Test func aFullPoolFailsTheWriteOnly() throws {
        let pool = try #require(SharedMemory(size: 64 * 1024, logsFailures: false))
        let core = try EmbeddedCore(
            config: HTableModuleTests.config("request_route { drop; }", tables: ["c=>size=2"]),
            modulePath: productsDirectory, memory: pool)
        let big = String(repeating: "x", count: 100 * 1024)
        #expect(
            Self.call(core, "htable.sets", .string("c"), .string("big"), .string(big))
                == .failure(RPCError(500, "Failed to set the item")))
        #expect(
            Self.call(core, "htable.sets", .string("c"), .string("small"), .string("v"))
                == .success(.string("Ok. Key set to new value.")))
        #expect(
            try Self.call(core, "htable.get", .string("c"), .string("small")).get()["item"]?["value"] == .string("v"))
        #expect(
            Self.call(core, "htable.get", .string("c"), .string("big"))
                == .failure(RPCError(500, "Key name doesn't exist in htable.")))
    }

    @Test func dropInModInitStopsTheStart() throws {
        #expect(throws: (any Error).self) {
            _ = try Self.core("event_route[htable:mod-init] { drop; }\nrequest_route { drop; }")
        }
    }

    @Test func tableDefinitionsAreChecked() throws {
        func errors(_ spec: String) -> [String] {
            ScriptHarness.errors(
                ScriptHarness.prelude + "loadmodule \"htable.so\"\nmodparam(\"htable\", \"htable\", \"\(spec)\")\n")
        }
        #expect(errors("t=>size=4;autoexpire=10;initval=-3;updateexpire=0;dbtable=x;dbmode=1") == [])
        #expect(errors("t=>size=4;dbtable=x;cols='k,v1,v2';") == [])
        #expect(errors("t=>size=4;dbtable=x;cols='k'").joined().contains("cols needs two to eight columns"))
        #expect(errors("t=>size=4;colour=red").joined().contains("invalid htable parameter [t=>size=4;colour=red]"))
        #expect(errors("t=>size=four").joined().contains("invalid htable parameter"))
        #expect(errors("no arrow").joined().contains("invalid htable parameter"))
        #expect(
            ScriptHarness.errors(
                ScriptHarness.prelude
                    + "loadmodule \"htable.so\"\nmodparam(\"htable\", \"htable\", \"t=>size=2\")\nmodparam(\"htable\", \"htable\", \"t=>size=3\")\n"
            ).joined().contains("htable already configured [t]"))
    }
}
