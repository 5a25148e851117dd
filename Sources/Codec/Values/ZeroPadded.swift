extension BinaryInteger {
    /// The number in `radix` with leading zeros up to `width` digits (`String(format: "%0*d")`
    /// without Foundation's formatter, which costs microseconds per call on Linux: too much for
    /// per-image log lines and storage keys).
    public func zeroPadded(_ width: Int, radix: Int = 10, uppercase: Bool = false) -> String {
        let digits = String(self, radix: radix, uppercase: uppercase)
        return digits.utf8.count >= width ? digits : String(repeating: "0", count: width - digits.utf8.count) + digits
    }
}
