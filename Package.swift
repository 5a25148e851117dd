// swift-tools-version:6.0
// A DICOM network node: Codec ← DicomNet ← Node ← RestBridge ← dicomnode.
// No Swift package dependencies; C libraries come from Debian's -dev packages.
import PackageDescription

let package = Package(
    name: "dicomnode",
    products: [
        .executable(name: "dicomnode", targets: ["dicomnode"]),
        .library(name: "Codec", targets: ["Codec"]),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .target(name: "Codec", dependencies: ["CZlib"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),
        .target(name: "DicomNet", dependencies: ["Codec", "COpenSSL"]),
        .target(name: "Node", dependencies: ["Codec", "DicomNet", "CSQLite"]),
        .target(name: "RestBridge", dependencies: ["Codec", "DicomNet", "Node", "COpenSSL"]),
        .executableTarget(name: "dicomnode", dependencies: ["Codec", "DicomNet", "Node", "RestBridge"]),
        .target(name: "TestPeers", path: "Tests/TestPeers"),
        .testTarget(name: "CodecTests", dependencies: ["Codec", "TestPeers"]),
        .testTarget(name: "DicomNetTests", dependencies: ["DicomNet", "Codec", "TestPeers"]),
        .testTarget(name: "NodeTests", dependencies: ["Node", "DicomNet", "Codec", "TestPeers"]),
        .testTarget(name: "RestBridgeTests", dependencies: ["RestBridge", "Node", "DicomNet", "TestPeers"]),
    ]
)
