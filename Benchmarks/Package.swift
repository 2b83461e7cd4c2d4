// swift-tools-version:6.1
// Swiftlet micro-benchmarks (ordo-one/benchmark). A separate package so that the main
// build and CI do not compile the benchmark framework. Run: scripts/bench-parse.sh,
// scripts/bench-shm.sh, scripts/bench-path.sh
import PackageDescription

let package = Package(
    name: "SwiftletBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(path: "../Sources/SwiftletCore"),
    ],
    targets: [
        .executableTarget(
            name: "SIPParsing",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SwiftletCore", package: "SwiftletCore"),
            ],
            path: "Benchmarks/SIPParsing",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "SharedMemory",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SwiftletCore", package: "SwiftletCore"),
            ],
            path: "Benchmarks/SharedMemory",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "MessagePath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SwiftletCore", package: "SwiftletCore"),
            ],
            path: "Benchmarks/MessagePath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
