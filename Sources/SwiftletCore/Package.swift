// swift-tools-version:6.0
// SwiftletCore: the core of Swiftlet as ONE dynamic library (libSwiftletCore.so).
//
// It is its own package on purpose (see DESIGN.md section 1): SwiftPM links a target of
// the same package statically into every product that uses it, so a module `.so` built in
// the root package would carry a private copy of the core. Depending on this package's
// `.dynamic` product makes the executable and every module share one libSwiftletCore.so.
import PackageDescription

/// Release builds of the Swift targets on the message path compile without Swift's run-time
/// exclusivity checks (a call into the runtime for most accesses to a class's stored `var`;
/// with the hot modules' (root Package.swift), 13 % of the instructions of a stateful call).
/// Debug builds, which the test suite runs, keep them, so an overlapping access still traps
/// there.
let uncheckedExclusivity: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "SwiftletCore",
    products: [
        .library(
            name: "SwiftletCore",
            type: .dynamic,
            targets: [
                "CSwiftletABI", "CResolv", "SwiftletAllocator", "SwiftletSIP", "SwiftletConfig", "SwiftletSDK",
                "SwiftletRuntime",
            ]
        )
    ],
    dependencies: [
        // TCP (and later TLS/WebSocket) connections run on SwiftNIO event loops (DESIGN.md section 4).
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0")
    ],
    targets: [
        // C header of the module ABI: version constants and the descriptor structs.
        .target(name: "CSwiftletABI"),
        // DNS queries (NAPTR, SRV, A, AAAA) through the system resolver library (glibc's libresolv).
        .target(name: "CResolv", linkerSettings: [.linkedLibrary("resolv")]),
        // The shared-memory allocator's heap (TLSF): implementation only, outside the ABI signature.
        .target(name: "SwiftletAllocator"),
        // SIP message layer: parser, message model, reply writer. No I/O.
        .target(name: "SwiftletSIP", swiftSettings: uncheckedExclusivity),
        // The Kamailio configuration language: lexer, parser, AST, diagnostics. No I/O but files.
        .target(name: "SwiftletConfig"),
        // What modules import: module exports, script functions, pseudo-variables, logging.
        .target(
            name: "SwiftletSDK",
            dependencies: ["CSwiftletABI", "SwiftletAllocator", "SwiftletSIP", "SwiftletConfig"],
            swiftSettings: uncheckedExclusivity),
        // Assembly of a running server: module loader, script compiler, transports, workers.
        .target(
            name: "SwiftletRuntime",
            dependencies: [
                "SwiftletSDK", "CResolv", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: uncheckedExclusivity),
    ]
)
