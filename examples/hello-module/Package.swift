// swift-tools-version:6.0
// An out-of-tree Swiftlet module, built separately from the server, the way a third party
// or a packager builds one. It depends on the SwiftletCore package (here by path to this
// checkout; an installed SDK would be the same package at e.g. /usr/share/swiftlet/SwiftletCore).
import PackageDescription

let package = Package(
    name: "hello-module",
    products: [
        .library(name: "hello", type: .dynamic, targets: ["hello"])
    ],
    dependencies: [
        .package(path: "../../Sources/SwiftletCore")
    ],
    targets: [
        .target(name: "hello", dependencies: [.product(name: "SwiftletCore", package: "SwiftletCore")])
    ]
)
