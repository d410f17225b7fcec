// swift-tools-version:6.0
// The Graft HTTPServer serving GET /health → "ok", built alone (its sources through a symlink) for bench/http-load.sh.
import PackageDescription

let package = Package(
    name: "HTTPBench",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(
            name: "HTTPServer", dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Sources/HTTPServer", swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(
            name: "HTTPBench", dependencies: ["HTTPServer", .product(name: "Logging", package: "swift-log")],
            swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
