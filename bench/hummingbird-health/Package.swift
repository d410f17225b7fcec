// swift-tools-version:6.0
// A minimal Hummingbird 2 app serving GET /health → "ok": the reference point for bench/http-load.sh.
import PackageDescription

let package = Package(
    name: "HummingbirdHealth",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
    ],
    targets: [
        .executableTarget(
            name: "HummingbirdHealth",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")]),
    ]
)
