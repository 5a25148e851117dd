import XCTest
import Foundation
import Codec
@testable import Node

/// Otsu's threshold, the reduction, connected areas and their outlines on shapes drawn here, where
/// the right answer is known exactly.
final class TissueDetectionTests: XCTestCase {
    /// A mask from rows of "#" (tissue) and "." (glass).
    func mask(_ rows: [String]) -> (mask: [UInt8], width: Int, height: Int) {
        (rows.flatMap { $0.map { $0 == "#" ? UInt8(1) : 0 } }, rows[0].count, rows.count)
    }

    func regions(_ rows: [String], minimum: Int = 1) -> ([TissueRegion], [UInt8]) {
        var (m, w, h) = mask(rows)
        let r = TissueContours.regions(mask: &m, width: w, height: h, minimumCells: minimum, factor: 1, fullWidth: w, fullHeight: h)
        return (r, m)
    }

    func box(_ r: TissueRegion) -> [Double] {
        [r.outline.map(\.x).min()!, r.outline.map(\.y).min()!, r.outline.map(\.x).max()!, r.outline.map(\.y).max()!]
    }

    func testOutlinesOfShapes() {
        // A rectangle: four corners after simplification, at the centres of its corner cells.
        let (rect, _) = regions([".......", ".#####.", ".#####.", ".#####.", "......."])
        XCTAssertEqual(rect.count, 1)
        XCTAssertEqual(rect[0].areaPixels, 15)
        XCTAssertEqual(Set(rect[0].outline.map { "\($0.x),\($0.y)" }), ["1.5,1.5", "5.5,1.5", "5.5,3.5", "1.5,3.5"])
        XCTAssertEqual(rect[0].perimeter, 12, accuracy: 1e-9)

        // One cell.
        let (dot, _) = regions([".....", "..#..", "....."])
        XCTAssertEqual(dot.map(\.outline.count), [1])

        // Two squares touching at a corner are one 8-connected area: the outline passes the pinch
        // twice and still goes round both.
        let (pinch, _) = regions(["##...", "##...", "..##.", "..##."])
        XCTAssertEqual(pinch.count, 1)
        XCTAssertEqual(pinch[0].areaPixels, 8)
        XCTAssertEqual(box(pinch[0]), [0.5, 0.5, 3.5, 3.5])

        // A ring: one area (the hole is inside its outline), outlined on the outside.
        let (ring, _) = regions(["#####", "#...#", "#...#", "#####"])
        XCTAssertEqual(ring.count, 1)
        XCTAssertEqual(ring[0].areaPixels, 14)
        XCTAssertEqual(box(ring[0]), [0.5, 0.5, 4.5, 3.5])

        // Dust below the minimum is dropped from the regions and from the mask; larger first.
        let (two, cleaned) = regions(["###.....", "###...#.", "###....."], minimum: 2)
        XCTAssertEqual(two.map(\.areaPixels), [9])
        XCTAssertEqual(cleaned.reduce(0) { $0 + Int($1) }, 9)
    }

    func testOtsuSplitsTwoModesAndRefusesAFlatImage() throws {
        let values = [Float](repeating: 60, count: 300) + [Float](repeating: 70, count: 100) + [Float](repeating: 240, count: 600)
        let t = try XCTUnwrap(TissueDetector.otsu(values))
        XCTAssertGreaterThan(t, 70)
        XCTAssertLessThan(t, 240)
        XCTAssertNil(TissueDetector.otsu([Float](repeating: 250, count: 100) + [253, 247]), "a blank slide has no tissue")
    }

    func testDetectsADarkRectangleExactly() throws {
        // 200×100 RGB, white glass with a 60×40 pink rectangle; no reduction (factor 1).
        var pixels = [UInt8](repeating: 250, count: 200 * 100 * 3)
        for y in 30..<70 { for x in 50..<110 { pixels[(y * 200 + x) * 3] = 200; pixels[(y * 200 + x) * 3 + 1] = 110; pixels[(y * 200 + x) * 3 + 2] = 170 } }
        let map = TissueDetector.detect(PNGImage(width: 200, height: 100, bitDepth: 8, channels: 3, pixels: pixels), maxSide: 1024, minimumRegionPercent: 0.05)
        XCTAssertEqual(map.factor, 1)
        XCTAssertEqual(map.areaPixels, 2400)
        XCTAssertEqual(map.percent, 12, accuracy: 1e-9)
        XCTAssertEqual(map.regions.count, 1)
        XCTAssertEqual(box(map.regions[0]), [50.5, 30.5, 109.5, 69.5])
        XCTAssertEqual(map.fraction(x: 50, y: 30, w: 60, h: 40), 1)
        XCTAssertEqual(map.fraction(x: 0, y: 0, w: 50, h: 30), 0)

        // The same as 16-bit gray with an alpha channel: transparent counts as glass.
        var wide = [UInt8](repeating: 0, count: 200 * 100 * 4)
        for y in 0..<100 {
            for x in 0..<200 {
                let inside = (30..<70).contains(y) && (50..<110).contains(x)
                let gray: UInt16 = inside ? 30_000 : 64_000
                let alpha: UInt16 = x < 20 ? 0 : 65_535  // a transparent band at the left, dark underneath
                let v = x < 20 ? 0 : gray
                let i = (y * 200 + x) * 4
                wide[i] = UInt8(v >> 8); wide[i + 1] = UInt8(v & 0xFF); wide[i + 2] = UInt8(alpha >> 8); wide[i + 3] = UInt8(alpha & 0xFF)
            }
        }
        let grayMap = TissueDetector.detect(PNGImage(width: 200, height: 100, bitDepth: 16, channels: 2, pixels: wide), maxSide: 1024, minimumRegionPercent: 0.05)
        XCTAssertEqual(grayMap.areaPixels, 2400)
        // Reduced 1:2 (longer side 200 > 128): the area is counted in full-resolution pixels.
        let reduced = TissueDetector.detect(PNGImage(width: 200, height: 100, bitDepth: 8, channels: 3, pixels: pixels), maxSide: 128, minimumRegionPercent: 0.05)
        XCTAssertEqual(reduced.factor, 2)
        XCTAssertEqual(reduced.width, 100)
        XCTAssertEqual(reduced.areaPixels, 2400)
    }
}
