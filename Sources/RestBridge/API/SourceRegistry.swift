import Foundation
import Node

extension SliceboxAPI {
    /// Sources beyond users and SCPs: watched directories, import sessions, boxes.
    func extraSources() throws -> [SourceJSON] { [] }
    /// Destinations beyond SCUs: boxes.
    func extraDestinations() throws -> [DestinationJSON] { [] }
}
