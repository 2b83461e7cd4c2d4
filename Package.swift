// swift-tools-version:6.0
// Swiftlet: the `swiftlet` server, and every in-tree module as its own shared object.
//
// The core is the local package Sources/SwiftletCore (one libSwiftletCore.so, see
// DESIGN.md section 1). Each module is a `.dynamic` library product built from
// Modules/<name>/ that links that one core library; `loadmodule "sl.so"` finds `libsl.so`.
import PackageDescription

let core: Target.Dependency = .product(name: "SwiftletCore", package: "SwiftletCore")

/// In-tree modules, one a line. Adding a module is one line plus its folder.
let modules: [String] = [
    "acc",
    "alias_db",
    "async",
    "auth",
    "auth_db",
    "avpops",
    "cfg_rpc",
    "corex",
    "counters",
    "ctl",
    "debugger",
    "db_mysql",
    "db_postgres",
    "dialog",
    "dispatcher",
    "domain",
    "htable",
    "http_async_client",
    "http_client",
    "jsonrpcs",
    "jwt",
    "kex",
    "ladder",
    "log_custom",
    "lwsc",
    "maxfwd",
    "nathelper",
    "nats",
    "ndb_redis",
    "permissions",
    "pike",
    "presence",
    "presence_dialoginfo",
    "presence_xml",
    "pv",
    "regex",
    "registrar",
    "rr",
    "rtpengine",
    "ruxc",
    "sanity",
    "sctp",
    "secsipid",
    "sipjson",
    "siptrace",
    "siputils",
    "sl",
    "slack",
    "speeddial",
    "sqlops",
    "sworker",
    "textops",
    "textopsx",
    "tls",
    "tm",
    "tmx",
    "topoh",
    "topos",
    "topos_redis",
    "uac",
    "usrloc",
    "websocket",
    "xhttp",
    "xhttp_prom",
    "xlog",
]

/// Libraries that only some modules link — C libraries (Debian `-dev` packages) and Swift
/// packages — and those modules: never the core (`ldd swiftlet` shows none of them).
let moduleLibraries: [String: [Target.Dependency]] = [
    "auth": [.product(name: "Crypto", package: "swift-crypto")],
    "db_mysql": ["CMariaDB"],
    "db_postgres": ["CLibPQ"],
    "http_async_client": ["CCurl", "CHTTPAsyncCurl"],
    "http_client": ["CCurl"],
    // HMAC, ECDSA (Crypto) and RSA PKCS#1 v1.5 signatures (_CryptoExtras) for JSON Web Tokens.
    "jwt": [
        .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
    ],
    // libwebsockets, the library Kamailio's lwsc uses (Modules/lwsc/README.md).
    "lwsc": ["CWebsockets"],
    "nats": ["CNats"],
    "ndb_redis": ["CHiredis"],
    "regex": ["CPCRE2"],
    "ruxc": ["CCurl"],
    "sctp": ["CSCTP"],
    // secsipid links no CSecSIPID: it opens libsecsipid (a Go runtime) with dlopen after the
    // daemon fork (Modules/secsipid/README.md).
    "tls": ["COpenSSL"],
    "websocket": [.product(name: "Crypto", package: "swift-crypto")],
]

/// Linker settings of single modules. sctp links libsctp by its file name: the module is
/// itself `libsctp.so` in the build directory, which `-lsctp` would find first.
let moduleLinkerSettings: [String: [LinkerSetting]] = [
    "sctp": [.linkedLibrary(":libsctp.so.1")]
]

/// Modules on the stateful and dialog call paths (tm, rr, dialog and what the benchmark
/// configurations load, ladder, whose wire observers see every message, and tls and websocket,
/// which see every byte of their connections):
/// release builds compile them without Swift's run-time exclusivity checks (a call into the
/// runtime for most accesses to a class's stored `var`), as the core's targets are (together
/// 13 % fewer instructions per stateful call). Debug builds (and the test suite) keep the
/// checks, so an overlapping access still traps there.
let hotModules: Set<String> = [
    "dialog", "ladder", "maxfwd", "pv", "rr", "siputils", "sl", "textops", "tls", "tm", "websocket",
]

/// The release-only flag of `hotModules`.
let uncheckedExclusivity: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

/// Modules built only for the test suite (never installed).
let testModules: [(name: String, path: String)] = [
    ("swiftlet_test_abi_mismatch", "Tests/Fixtures/abi_mismatch"),
    ("swiftlet_test_stale_module", "Tests/Fixtures/stale_module"),
]

let package = Package(
    name: "Swiftlet",
    products: [
        .executable(name: "swiftlet", targets: ["swiftlet"]),
        .executable(name: "swiftletctl", targets: ["swiftletctl"]),
    ]
        + modules.map { .library(name: $0, type: .dynamic, targets: [$0]) }
        + testModules.map { .library(name: $0.name, type: .dynamic, targets: [$0.name]) },
    dependencies: [
        .package(path: "Sources/SwiftletCore"),
        // MD5 and SHA-256 for digest authentication (auth).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.9.0"..<"5.0.0"),
    ],
    targets: [
        .executableTarget(name: "swiftlet", dependencies: [core], path: "Sources/swiftlet"),
        // The RPC client links nothing of the core: it only speaks JSON over a Unix socket.
        .executableTarget(name: "swiftletctl", path: "Sources/swiftletctl"),
    ]
        + modules.map {
            .target(
                name: $0, dependencies: [core] + (moduleLibraries[$0] ?? []), path: "Modules/\($0)",
                exclude: ["README.md"], swiftSettings: hotModules.contains($0) ? uncheckedExclusivity : [],
                linkerSettings: moduleLinkerSettings[$0] ?? [])
        }
        + [
            .systemLibrary(
                name: "CHiredis", path: "Sources/CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
            .systemLibrary(
                name: "CLibPQ", path: "Sources/CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
            .systemLibrary(
                name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
            .systemLibrary(
                name: "CMariaDB", path: "Sources/CMariaDB", pkgConfig: "libmariadb",
                providers: [.apt(["libmariadb-dev"])]),
            .systemLibrary(
                name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
            // libcurl's variadic calls wrapped for http_async_client (links libcurl as CCurl).
            .systemLibrary(name: "CHTTPAsyncCurl", path: "Sources/CHTTPAsyncCurl"),
            .systemLibrary(
                name: "CNats", path: "Sources/CNats", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
            .systemLibrary(
                name: "CPCRE2", path: "Sources/CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
            // libsctp for the sctp module (no pkg-config file; linked through moduleLinkerSettings).
            .systemLibrary(name: "CSCTP", path: "Sources/CSCTP", providers: [.apt(["libsctp-dev"])]),
            .systemLibrary(
                name: "CWebsockets", path: "Sources/CWebsockets", pkgConfig: "libwebsockets",
                providers: [.apt(["libwebsockets-dev"])]),
            .systemLibrary(
                name: "CSecSIPID", path: "Sources/CSecSIPID", pkgConfig: "secsipid-1", providers: [.apt(["libsecsipid-dev"])]),
        ]
        + testModules.map { .target(name: $0.name, dependencies: [core], path: $0.path) }
        + [
            // Tests mirror the core's targets; module tests run through the runtime, so they
            // live with its tests (Tests/SwiftletRuntimeTests/Modules).
            .testTarget(name: "SwiftletSIPTests", dependencies: [core], path: "Tests/SwiftletSIPTests"),
            .testTarget(name: "SwiftletConfigTests", dependencies: [core], path: "Tests/SwiftletConfigTests"),
            .testTarget(name: "SwiftletSDKTests", dependencies: [core], path: "Tests/SwiftletSDKTests"),
            .testTarget(name: "SwiftletRuntimeTests", dependencies: [core], path: "Tests/SwiftletRuntimeTests"),
        ]
)
