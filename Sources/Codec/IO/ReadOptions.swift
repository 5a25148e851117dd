/// How much of an input to read, and the limits that protect against hostile input.
public struct ReadOptions: Sendable {
    /// Stop before the first top-level element whose tag is at or above this one
    /// (e.g. `.pixelData` to read just the header, as pydicom's `stop_before_pixels`).
    public var stopBefore: Tag?
    /// Leave values longer than this in the file (`ElementValue.deferred`), loaded on demand.
    /// Only effective when reading from a path. nil: load everything.
    public var deferValuesLongerThan: Int?
    /// Sequences deeper than this are refused (each level costs stack).
    public var maxNestingDepth: Int
    /// Upper bound for the inflated size of a Deflated Transfer Syntax data set.
    public var maxInflatedSize: Int
    /// Read what is there of a value or item that runs past the end of the input or its container,
    /// with a warning, instead of refusing the file (for dump-style inspection of damaged files,
    /// as dcmdump and pydicom do). Off by default: a truncated image must not pass for a whole one.
    public var allowTruncated: Bool = false

    public init(stopBefore: Tag? = nil, deferValuesLongerThan: Int? = nil,
                maxNestingDepth: Int = 64, maxInflatedSize: Int = 4 << 30) {
        self.stopBefore = stopBefore
        self.deferValuesLongerThan = deferValuesLongerThan
        self.maxNestingDepth = maxNestingDepth
        self.maxInflatedSize = maxInflatedSize
    }

    public static let `default` = ReadOptions()
    /// Everything up to Pixel Data, which is not read at all.
    public static let headerOnly = ReadOptions(stopBefore: .pixelData)
    /// Everything, with values over 64 KiB left in the file until asked for.
    public static let lazy = ReadOptions(deferValuesLongerThan: 64 * 1024)
}
