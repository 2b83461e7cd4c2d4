import Foundation
import Testing

/// `swiftlet -c` on Kamailio's stock configuration with WITH_PRESENCE (presence,
/// presence_xml, t_newtran/handle_publish/handle_subscribe/t_release) and its database.
@Suite struct StockConfigPresenceTests {
    @Test(.enabled(if: StockConfigTests.present, "\(StockConfigTests.stock) is not installed"))
    func presenceBlockPassesTheCheck() throws {
        let defines = ["WITH_MYSQL", "WITH_AUTH", "WITH_PRESENCE"].flatMap { ["-A", $0] }
        let r = try runSwiftlet(["-c", "-f", StockConfigTests.stock, "-L", productsDirectory] + defines)
        let errors = r.stderr.split(separator: "\n").map(String.init).filter {
            $0.hasPrefix(StockConfigTests.stock + ":")
        }
        #expect(errors.isEmpty, "\(errors)")
        #expect(r.status == 0, "\(r.stderr)")
    }
}
