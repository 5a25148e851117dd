/// Byte order helpers: big-endian values are swapped into little endian on read and back on write.
public enum ByteSwap {
    public static func inPlace(_ bytes: inout [UInt8], unit: Int) {
        guard unit > 1 else { return }
        let n = bytes.count - bytes.count % unit
        bytes.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < n {
                var lo = i, hi = i + unit - 1
                while lo < hi { p.swapAt(lo, hi); lo += 1; hi -= 1 }
                i += unit
            }
        }
    }
    public static func swapped(_ bytes: Bytes, unit: Int) -> [UInt8] {
        var a = Array(bytes)
        inPlace(&a, unit: unit)
        return a
    }
}
