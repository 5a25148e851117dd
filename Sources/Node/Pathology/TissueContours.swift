import Foundation

/// Connected tissue areas of a mask and their outer outlines: 8-connected components, each traced
/// with Moore-neighbour tracing (stopping by Jacob's criterion: back at the start cell, entered
/// from the same side), simplified with Douglas–Peucker to within 0.75 cells. Holes inside an area
/// are part of the area's outline, not separate regions.
enum TissueContours {
    /// The 8 neighbours clockwise (y down), starting west.
    static let dx = [-1, -1, 0, 1, 1, 1, 0, -1]
    static let dy = [0, -1, -1, -1, 0, 1, 1, 1]

    /// Components of `mask` (1 = tissue) with at least `minimumCells` cells, largest first; smaller
    /// ones are cleared from the mask. Outlines and areas are in full-resolution pixels.
    static func regions(mask: inout [UInt8], width w: Int, height h: Int, minimumCells: Int,
                        factor: Int, fullWidth: Int, fullHeight: Int) -> [TissueRegion] {
        var labels = [Int32](repeating: 0, count: w * h)
        var components: [(label: Int32, start: Int, cells: [Int])] = []
        var stack: [Int] = []
        var next: Int32 = 0
        for start in 0..<(w * h) where mask[start] != 0 && labels[start] == 0 {
            next += 1
            labels[start] = next
            stack.append(start)
            var cells: [Int] = []
            while let i = stack.popLast() {
                cells.append(i)
                let x = i % w, y = i / w
                for k in 0..<8 {
                    let nx = x + dx[k], ny = y + dy[k]
                    guard nx >= 0, ny >= 0, nx < w, ny < h else { continue }
                    let j = ny * w + nx
                    if mask[j] != 0 && labels[j] == 0 { labels[j] = next; stack.append(j) }
                }
            }
            // `start` is the component's first cell in raster order: its west neighbour is outside.
            components.append((next, start, cells))
        }
        var regions: [(TissueRegion, Int)] = []
        for component in components {
            guard component.cells.count >= minimumCells else {
                for i in component.cells { mask[i] = 0 }
                continue
            }
            let trace = outline(labels: labels, label: component.label, start: component.start, width: w, height: h)
            let simplified = simplify(trace)
            let f = Double(factor)
            let points = simplified.map { (x: min(Double(fullWidth), (Double($0.x) + 0.5) * f), y: min(Double(fullHeight), (Double($0.y) + 0.5) * f)) }
            var area: Int64 = 0
            for i in component.cells {
                let x = i % w, y = i / w
                area += Int64(min(factor, fullWidth - x * factor)) * Int64(min(factor, fullHeight - y * factor))
            }
            regions.append((TissueRegion(outline: points, areaPixels: area), component.cells.count))
        }
        return regions.sorted { $0.1 > $1.1 }.map(\.0)
    }

    /// The outer boundary cells of one component, in clockwise order, starting at `start`.
    static func outline(labels: [Int32], label: Int32, start: Int, width w: Int, height h: Int) -> [(x: Int, y: Int)] {
        func inside(_ x: Int, _ y: Int) -> Bool { x >= 0 && y >= 0 && x < w && y < h && labels[y * w + x] == label }
        let sx = start % w, sy = start / w
        var points = [(x: sx, y: sy)]
        var cx = sx, cy = sy
        var back = 0  // direction from the current cell to the backtrack cell: west of the start
        let startBack = back
        var steps = 0
        let limit = 8 * w * h + 16
        while steps < limit {
            steps += 1
            var found = -1
            for i in 1...8 {
                let d = (back + i) % 8
                if inside(cx + dx[d], cy + dy[d]) { found = d; break }
            }
            guard found >= 0 else { return points }  // a single cell
            // The backtrack cell is the neighbour examined just before the one found; as seen from
            // the new cell it lies in this direction.
            let prev = (found + 7) % 8
            let bx = cx + dx[prev], by = cy + dy[prev]
            cx += dx[found]; cy += dy[found]
            back = direction(from: (cx, cy), to: (bx, by))
            // Jacob's criterion: a pinch point (the start touched twice) is entered from another side.
            if cx == sx && cy == sy && back == startBack { break }
            points.append((cx, cy))
        }
        return points
    }

    static func direction(from a: (Int, Int), to b: (Int, Int)) -> Int {
        let ddx = b.0 - a.0, ddy = b.1 - a.1
        for k in 0..<8 where dx[k] == ddx && dy[k] == ddy { return k }
        return 0
    }

    /// Douglas–Peucker on a closed outline: split at the point farthest from the start, simplify
    /// both halves to within `epsilon`.
    static func simplify(_ points: [(x: Int, y: Int)], epsilon: Double = 0.75) -> [(x: Int, y: Int)] {
        guard points.count > 4 else { return points }
        let p = points.map { (Double($0.x), Double($0.y)) }
        var far = 0, farDistance = -1.0
        for i in 1..<p.count {
            let d = (p[i].0 - p[0].0) * (p[i].0 - p[0].0) + (p[i].1 - p[0].1) * (p[i].1 - p[0].1)
            if d > farDistance { farDistance = d; far = i }
        }
        var keep = [Bool](repeating: false, count: p.count)
        keep[0] = true; keep[far] = true
        func run(_ a: Int, _ b: Int) {
            // Indices a..b (b may be p.count, meaning the start again).
            var stack = [(a, b)]
            while let (i, j) = stack.popLast() {
                guard j - i > 1 else { continue }
                let A = p[i], B = p[j % p.count]
                let lx = B.0 - A.0, ly = B.1 - A.1
                let length = (lx * lx + ly * ly).squareRoot()
                var best = -1.0, bestIndex = i
                for k in (i + 1)..<j {
                    let d = length == 0 ? ((p[k].0 - A.0) * (p[k].0 - A.0) + (p[k].1 - A.1) * (p[k].1 - A.1)).squareRoot()
                                        : abs(lx * (A.1 - p[k].1) - ly * (A.0 - p[k].0)) / length
                    if d > best { best = d; bestIndex = k }
                }
                if best > epsilon {
                    keep[bestIndex] = true
                    stack.append((i, bestIndex)); stack.append((bestIndex, j))
                }
            }
        }
        run(0, far)
        run(far, p.count)
        return points.indices.filter { keep[$0] }.map { points[$0] }
    }
}
