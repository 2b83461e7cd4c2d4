import Foundation
import Testing

/// `swiftlet -c` on Kamailio's stock configuration (Debian's `kamailio` package installs it
/// as /etc/kamailio/kamailio.cfg): the language is all understood, so the only errors are
/// modules Swiftlet does not have yet (none with the defines below) and the functions and
/// pseudo-variables they export.
@Suite struct StockConfigTests {
    static let stock = "/etc/kamailio/kamailio.cfg"
    static let present = FileManager.default.fileExists(atPath: stock)

    /// The kinds of error allowed: a module not found, then a function or pseudo-variable
    /// of a module that failed to load or that Swiftlet does not implement.
    static let allowed: [String] = [
        #"^error: could not find module <[a-z0-9_]+> in <"#,
        #"^error: function '[a-z0-9_]+' belongs to module '[a-z0-9_]+', which failed to load( \(first of [0-9]+ uses\))?$"#,
        #"^error: pseudo-variable '\$[A-Za-z0-9_]+' belongs to module '[a-z0-9_]+', which failed to load( \(first of [0-9]+ uses\))?$"#,
        #"^error: unknown function '[a-z0-9_]+': module '[a-z0-9_]+' of Swiftlet does not implement it yet$"#,
    ]

    @Test(
        .enabled(if: present, "\(stock) is not installed (apt-get install kamailio)"),
        arguments: [
            [],
            [
                "-A", "WITH_AUTH", "-A", "WITH_USRLOCDB", "-A", "WITH_MYSQL", "-A", "WITH_NAT", "-A", "WITH_ANTIFLOOD",
                "-A", "WITH_ACCDB",
            ],
            ["-A", "WITH_ANTIFLOOD", "-A", "WITH_TLS"],
        ]
    )
    func stockConfigReportsOnlyMissingModules(defines: [String]) throws {
        let r = try runSwiftlet(["-c", "-f", Self.stock, "-L", productsDirectory] + defines)
        let errors = r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix(Self.stock + ":") }
        if errors.isEmpty {
            #expect(r.status == 0, "\(r.stderr)")
        } else {
            #expect(r.status == 1)
            #expect(r.stderr.hasSuffix("ERROR: bad config file (\(errors.count) errors)\n"), "\(r.stderr)")
        }
        let position = try Regex(#"^/etc/kamailio/kamailio\.cfg:[0-9]+:[0-9]+: "#)
        let kinds = try Self.allowed.map { try Regex($0) }
        for e in errors {
            let text = e.replacing(position, with: "")
            #expect(kinds.contains { text.firstMatch(of: $0) != nil }, "not a missing-module error: \(e)")
        }
        // registrar and usrloc load, and the stock routing's save() and lookup() are understood.
        #expect(!errors.contains { $0.contains("'registrar") || $0.contains("'usrloc") }, "\(errors)")
        // acc and cfg_rpc load, and acc's parameters are understood.
        #expect(
            !errors.contains { $0.contains("<acc>") || $0.contains("<cfg_rpc>") || $0.contains("'acc") },
            "\(errors)")
        // The modules Swiftlet has load, and the stock configuration's use of tm is understood.
        #expect(!errors.contains { $0.contains("'sl.so'") || $0.contains("'xlog.so'") || $0.contains("'tm.so'") })
        #expect(!errors.contains { $0.contains("module 'tm'") })
        // WITH_ANTIFLOOD: htable and pike load and their functions, parameters and $sht are understood.
        let antiflood = ["'htable.so'", "'pike.so'", "module 'htable'", "module 'pike'", "'$sht"]
        #expect(!errors.contains { e in antiflood.contains { e.contains($0) } })
        // WITH_TLS: enable_tls, tls.so and its config parameter are understood.
        #expect(!errors.contains { $0.contains("<tls>") || $0.contains("'tls") }, "\(errors)")
    }
}
