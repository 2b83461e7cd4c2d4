import Foundation
import Testing

@testable import SwiftletRuntime
@testable import SwiftletSDK

extension DatabaseSuites {
    /// Dispatcher's sets from Kamailio's `dispatcher` table on the private PostgreSQL and
    /// MariaDB servers: loaded at start-up with flags, priorities, attributes and an extra
    /// attribute column, used for routing, and read again by `dispatcher.reload`.
    @Suite struct DispatcherDatabaseTests {
        @Test(arguments: DatabaseDriverTests.engines)
        func setsComeFromTheTableAndReload(engine: DatabaseEngine) throws {
            try engine.createSchema(["version", "dispatcher"])
            try engine.sql(
                """
                INSERT INTO dispatcher (setid, destination, flags, priority, attrs, description) VALUES
                (1, 'sip:127.0.0.2:5081', 0, 0, 'duid=a', 'first'),
                (1, 'sip:127.0.0.2:5082', 0, 10, '', 'second'),
                (2, 'sip:127.0.0.3:5090', 4, 0, 'weight=100', '');
                """)
            let dir = TemporaryDirectory()
            let core = try EmbeddedCore(
                config: DispatcherModuleTests.config(
                    """
                    if (!ds_select_dst("1", "4")) { sl_send_reply("503", "none"); exit; }
                    forward();
                    """, list: dir.path + "/unused.list",
                    extra: """
                        loadmodule "\(engine.module).so"
                        modparam("dispatcher", "db_url", "\(try engine.url())")
                        modparam("dispatcher", "ds_db_extra_attrs", "desc=description")
                        modparam("dispatcher", "reload_delta", 0)
                        """),
                modulePath: productsDirectory)
            defer { core.shutdown() }
            let list = try core.context.rpcs.call(RPCRequest(method: "dispatcher.list", params: [])).get()
            guard case .array(let records)? = list["RECORDS"], records.count == 2,
                case .array(let one)? = records[0]["SET"]?["TARGETS"],
                case .array(let two)? = records[1]["SET"]?["TARGETS"]
            else {
                Issue.record("unexpected list \(list)")
                return
            }
            #expect(records.map { $0["SET"]?["ID"] } == [.int(2), .int(1)])
            #expect(one.map { $0["DEST"]?["FLAGS"] } == [.string("DX")])
            #expect(two.map { $0["DEST"]?["URI"] } == [.string("sip:127.0.0.2:5082"), .string("sip:127.0.0.2:5081")])
            #expect(two.map { $0["DEST"]?["PRIORITY"] } == [.int(10), .int(0)])
            #expect(two[1]["DEST"]?["ATTRS"]?["BODY"] == .string("duid=a;desc=first"))
            #expect(two[1]["DEST"]?["ATTRS"]?["DUID"] == .string("a"))
            func route() -> String {
                core.receive(DispatcherModuleTests.request(callID: UUID().uuidString), from: "127.0.0.1:5070")
                return core.takeSent().map { "\($0.destination.address)" }.joined()
            }
            #expect([route(), route()] == ["127.0.0.2:5082", "127.0.0.2:5081"])
            try engine.sql("DELETE FROM dispatcher WHERE destination = 'sip:127.0.0.2:5082';")
            #expect(
                try core.context.rpcs.call(RPCRequest(method: "dispatcher.reload", params: [])).get()
                    == .string("Ok. Dispatcher successfully reloaded."))
            #expect([route(), route()] == ["127.0.0.2:5081", "127.0.0.2:5081"])
        }
    }
}
