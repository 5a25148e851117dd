import Foundation

extension NodeConfig {
    /// The pathology image API (seed 001, served under `/pathology`): uploads, the analysis
    /// pipeline and its outcome-prediction command. Every key is optional in the config file.
    public struct Pathology: Codable, Sendable, Equatable {
        /// Secret for the HMAC-SHA256 signatures of upload policies. Empty: a random key is made
        /// once and kept in `<dataFolder>/pathology/upload-signing.key`.
        public var signingKey = ""
        /// The bucket name upload policies carry (the S3 `bucket` condition).
        public var bucket = "dicomnode-pathology"
        /// How long an upload policy stays valid.
        public var uploadPolicySeconds = 3600
        /// Largest upload a policy allows (its `content-length-range`); 0 means `http.maxBodyBytes`.
        public var maxUploadBytes: Int64 = 0
        /// Edge of the square PNG tiles the pipeline cuts (edge tiles are smaller).
        public var tileSize = 512
        /// The tissue detection works on a copy whose longer side is at most this many pixels.
        public var analysisMaxSide = 1024
        /// Connected tissue areas smaller than this share of the image are dropped as dust.
        public var minimumRegionPercent = 0.05
        /// Largest image (width × height) the pipeline decodes.
        public var maxPixels = 1 << 28
        /// Outcome prediction: the program and its arguments, run with the tiles' folder as the
        /// last argument. Empty: the stage is reported as skipped.
        public var predictCommand: [String] = []
        /// The command is killed after this many seconds (the stage fails).
        public var predictTimeoutSeconds = 3600
        /// Pipelines running at once; more wait in the queue.
        public var maxConcurrentJobs = 1
        /// After a restart, jobs that were running or queued start again (`true`) or are marked failed.
        public var resumeJobs = true
        public init() {}
    }
}

extension NodeConfig.Pathology {
    /// Refuses settings the pipeline cannot work with.
    public func validated() throws -> NodeConfig.Pathology {
        guard (16...16384).contains(tileSize) else { throw NodeError.badRequest("pathology.tileSize must be 16–16384") }
        guard (64...16384).contains(analysisMaxSide) else { throw NodeError.badRequest("pathology.analysisMaxSide must be 64–16384") }
        guard uploadPolicySeconds > 0, predictTimeoutSeconds > 0, maxUploadBytes >= 0, maxPixels > 0 else {
            throw NodeError.badRequest("pathology.uploadPolicySeconds, predictTimeoutSeconds and maxPixels must be positive, maxUploadBytes not negative")
        }
        guard (1...16).contains(maxConcurrentJobs) else { throw NodeError.badRequest("pathology.maxConcurrentJobs must be 1–16") }
        guard (0...100).contains(minimumRegionPercent) else { throw NodeError.badRequest("pathology.minimumRegionPercent must be 0–100") }
        guard !bucket.isEmpty else { throw NodeError.badRequest("pathology.bucket must not be empty") }
        return self
    }
}
