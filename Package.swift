// swift-tools-version:6.0
// Graft: a self-hosted fine-tuning service. Targets and their allowed dependencies follow ../shared/DESIGN.md.
import PackageDescription

/// Swift 5 language mode: the engine is pointer-heavy code driven by Dispatch, where strict-concurrency
/// checking would add annotations without catching real races; thread-safety is reviewed by hand.
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "Graft",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "graft", targets: ["graft"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // ONNX's protobuf messages (the generated onnx.pb.swift is committed; the code generator never runs in CI)
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.2.0"),
    ],
    targets: [
        // MARK: - System libraries (Debian packages installed by scripts/setup)
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CArchive", path: "Sources/CArchive"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),

        // MARK: - Libraries, lowest first
        .target(name: "Tensors", dependencies: ["CDNNL"], swiftSettings: swiftSettings),
        .target(
            name: "NeuralNetwork",
            dependencies: ["Tensors", "CCrypto", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: swiftSettings),
        .target(
            name: "ImageData",
            dependencies: ["Tensors", "CTurboJPEG", "CPNG", "CArchive"],
            swiftSettings: swiftSettings),
        .target(name: "FineTuning", dependencies: ["ImageData", "NeuralNetwork"], swiftSettings: swiftSettings),
        .target(
            name: "HTTPServer",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .target(
            name: "GraftService",
            dependencies: [
                "HTTPServer", "FineTuning", "ImageData", "NeuralNetwork",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "graft",
            dependencies: [
                "GraftService", "FineTuning", "ImageData", "NeuralNetwork", "Tensors", "HTTPServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        // MARK: - Benchmarks (bench/): side-by-side measurements, not part of the product
        .executableTarget(
            name: "imagebench", dependencies: ["ImageData", "FineTuning", "CTurboJPEG"], path: "bench/imagebench",
            swiftSettings: swiftSettings),

        // MARK: - Tests: one target per library target
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"], swiftSettings: swiftSettings),
        .testTarget(
            name: "NeuralNetworkTests",
            dependencies: ["NeuralNetwork", "Tensors", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(
            name: "ImageDataTests", dependencies: ["ImageData", "Tensors", "CTurboJPEG", "CPNG", "CArchive"],
            resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
        .testTarget(name: "FineTuningTests", dependencies: ["FineTuning"], swiftSettings: swiftSettings),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer"], swiftSettings: swiftSettings),
        .testTarget(
            name: "GraftServiceTests",
            dependencies: [
                "GraftService", "HTTPServer", "FineTuning", "ImageData", "NeuralNetwork", "Tensors",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // What the command line itself decides (option parsing, defaults, validation), without running a command.
        .testTarget(
            name: "graftTests",
            dependencies: ["graft", "FineTuning", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
    ]
)
