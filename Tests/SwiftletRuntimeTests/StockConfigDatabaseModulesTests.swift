import Foundation
import Testing

/// `swiftlet -c` on Kamailio's stock configuration with its database module blocks:
/// WITH_IPAUTH (permissions), WITH_ALIASDB (alias_db), WITH_SPEEDDIAL (speeddial) and
/// WITH_MULTIDOMAIN (domain) load and their parameters and functions are understood.
@Suite struct StockConfigDatabaseModulesTests {
    @Test(.enabled(if: StockConfigTests.present, "\(StockConfigTests.stock) is not installed"))
    func databaseModuleBlocksPassTheCheck() throws {
        let defines = [
            "WITH_AUTH", "WITH_MYSQL", "WITH_USRLOCDB", "WITH_IPAUTH", "WITH_ALIASDB", "WITH_SPEEDDIAL",
            "WITH_MULTIDOMAIN",
        ].flatMap { ["-A", $0] }
        let r = try runSwiftlet(["-c", "-f", StockConfigTests.stock, "-L", productsDirectory] + defines)
        let errors = r.stderr.split(separator: "\n").map(String.init).filter {
            $0.hasPrefix(StockConfigTests.stock + ":")
        }
        for module in ["permissions", "alias_db", "speeddial", "domain"] {
            #expect(
                !errors.contains {
                    $0.contains("<\(module)>") || $0.contains("'\(module)") || $0.contains("\(module).so")
                },
                "\(errors)")
        }
        // Nothing else is missing either.
        #expect(errors.isEmpty, "\(errors)")
        #expect(r.status == 0, "\(r.stderr)")
    }
}
