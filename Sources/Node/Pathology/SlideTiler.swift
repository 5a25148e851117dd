import Foundation
import Codec

/// The tiles' index (`tiles/index.json` under the image's raw download URL): the grid, and for
/// each tile its file, place and size; `tissue_fraction` once tissue detection ran.
struct TileIndex: Codable, Sendable {
    struct Tile: Codable, Sendable {
        var file: String
        var column: Int, row: Int
        var x: Int, y: Int, width: Int, height: Int
        var tissue_fraction: Double?
    }
    var image_unique_id: String
    var width: Int, height: Int
    var tile_size: Int
    var columns: Int, rows: Int
    var channels: Int
    var bit_depth: Int
    var source_format: String
    var tiles: [Tile]
}

/// Cuts an image into `size`×`size` PNG tiles (the last column and row smaller), keeping its
/// channels and bit depth, into a folder: `<column>_<row>.png` and `index.json`. Tiles are many
/// and read by programs, not archived: the Up filter and zlib level 1 (one pass each) instead of
/// the encoder's five-filter search.
enum SlideTiler {
    struct Cancelled: Error {}

    static func write(_ image: PNGImage, format: String, uniqueId: String, size: Int, into folder: String,
                      isCancelled: () -> Bool) throws -> TileIndex {
        let columns = (image.width + size - 1) / size, rows = (image.height + size - 1) / size
        let bpp = image.bytesPerPixel
        var tiles: [TileIndex.Tile] = []
        tiles.reserveCapacity(columns * rows)
        for row in 0..<rows {
            for column in 0..<columns {
                if isCancelled() { throw Cancelled() }
                let x = column * size, y = row * size
                let w = min(size, image.width - x), h = min(size, image.height - y)
                var pixels = [UInt8](repeating: 0, count: w * h * bpp)
                image.pixels.withUnsafeBufferPointer { src in
                    pixels.withUnsafeMutableBufferPointer { dst in
                        for r in 0..<h {
                            (dst.baseAddress! + r * w * bpp).update(from: src.baseAddress! + ((y + r) * image.width + x) * bpp, count: w * bpp)
                        }
                    }
                }
                let png = try PNGEncoder.encode(PNGImage(width: w, height: h, bitDepth: image.bitDepth, channels: image.channels, pixels: pixels), level: 1, filter: .up)
                let name = "\(column)_\(row).png"
                guard FileManager.default.createFile(atPath: folder + "/" + name, contents: Data(png)) else {
                    throw NodeError.storage("cannot write the tile \(folder)/\(name)")
                }
                tiles.append(TileIndex.Tile(file: name, column: column, row: row, x: x, y: y, width: w, height: h, tissue_fraction: nil))
            }
        }
        let index = TileIndex(image_unique_id: uniqueId, width: image.width, height: image.height, tile_size: size, columns: columns,
                              rows: rows, channels: image.channels, bit_depth: image.bitDepth, source_format: format, tiles: tiles)
        try writeIndex(index, to: folder + "/index.json")
        return index
    }

    static func writeIndex(_ index: TileIndex, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try PathologyFiles.writeAtomically([UInt8](try encoder.encode(index)), to: path)
    }

    static func readIndex(_ path: String) throws -> TileIndex {
        guard let data = FileManager.default.contents(atPath: path) else { throw NodeError.storage("cannot read \(path)") }
        return try JSONDecoder().decode(TileIndex.self, from: data)
    }
}
