// swift-tools-version:6.0
// An out-of-tree Swiftlet module, built separately from the server, the way a third party
// or a packager builds one. By default it depends on the SwiftletCore package of this
// checkout (by path). With SWIFTLET_SDK set to an installed SDK (swiftlet-dev:
// /usr/lib/swiftlet/sdk; scripts/install: PREFIX/lib/swiftlet/sdk) it is built against the
// installed core instead: the SDK's compiled Swift modules and its libSwiftletCore.so, with
// the same Swift compiler that built them.
import PackageDescription

let sdk = Context.environment["SWIFTLET_SDK"].flatMap { $0.isEmpty ? nil : $0 }

let package = Package(
    name: "hello-module",
    products: [
        .library(name: "hello", type: .dynamic, targets: ["hello"])
    ],
    dependencies: sdk == nil ? [.package(path: "../../Sources/SwiftletCore")] : [],
    targets: [
        sdk.map { sdk in
            .target(
                name: "hello",
                swiftSettings: [.unsafeFlags(["-I", sdk])],
                linkerSettings: [.unsafeFlags(["-L", sdk, "-lSwiftletCore"])])
        }
            ?? .target(name: "hello", dependencies: [.product(name: "SwiftletCore", package: "SwiftletCore")])
    ]
)
