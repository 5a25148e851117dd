/// How `PNGEncoder.encode` filters rows (PNG spec 9.2). `.adaptive` tries all five filter types
/// on every row and keeps the cheapest (PNG spec 12.8): the smallest files, at five passes over
/// the pixels. A fixed type is one cheap pass: for many images at once (slide tiles) where
/// encoding time matters more than the last percent of size. `.up` suits photographic and
/// microscope images (rows resemble the row above); `.none` leaves the bytes as they are.
public enum PNGRowFilter: Sendable, Equatable {
    case adaptive
    case none
    case sub
    case up

    /// The filter-type byte (PNG spec 9.2 table 9.1).
    var typeByte: UInt8 {
        switch self {
        case .adaptive, .none: return 0
        case .sub: return 1
        case .up: return 2
        }
    }
}

extension PNGEncoder {
    /// Writes each row as the filter byte + the row filtered with one fixed type (PNG spec 9.2).
    /// Sub and Up take 0 for bytes left of the first pixel and above the first row.
    static func filterRows(_ src: UnsafePointer<UInt8>, _ dst: UnsafeMutablePointer<UInt8>,
                           rowBytes n: Int, rows: Int, bpp: Int, fixed filter: PNGRowFilter) {
        let lead = min(bpp, n)
        for r in 0..<rows {
            let cur = src + r * n
            let out = dst + r * (n + 1)
            // Up on the first row is None (the row above is zeros): say so, it reads the same.
            let type = filter == .up && r == 0 ? PNGRowFilter.none : filter
            out[0] = type.typeByte
            let body = out + 1
            switch type {
            case .adaptive, .none:
                body.update(from: cur, count: n)
            case .sub:
                body.update(from: cur, count: lead)
                var i = lead
                while i < n { body[i] = cur[i] &- cur[i - bpp]; i += 1 }
            case .up:
                let above = cur - n
                var i = 0
                while i < n { body[i] = cur[i] &- above[i]; i += 1 }
            }
        }
    }
}
