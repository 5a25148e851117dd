import Foundation
import Node

extension SliceboxAPI {
    /// Sources beyond users and SCPs: watched directories, import sessions and boxes.
    func extraSources() throws -> [SourceJSON] {
        try node.directoryWatches.list(count: 1_000_000).map { SourceJSON($0.source) }
            + node.importSessions.list(count: 1_000_000).map { SourceJSON($0.source) }
            + node.boxes.boxes(count: 1_000_000).map { SourceJSON(Source(type: .box, name: $0.name, id: $0.id)) }
    }
}
