import Foundation
import Node

extension SliceboxAPI {
    /// Sources beyond users and SCPs: watched directories and import sessions (boxes when they come).
    func extraSources() throws -> [SourceJSON] {
        try node.directoryWatches.list(count: 1_000_000).map { SourceJSON($0.source) }
            + node.importSessions.list(count: 1_000_000).map { SourceJSON($0.source) }
    }
}
