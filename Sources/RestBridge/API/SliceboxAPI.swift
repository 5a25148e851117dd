import Foundation
import Node

/// Seed 003, the Slicebox API, under `/api`: every route with the role it needs, over the node's
/// one store. Route groups live in files named after them (`MetadataRoutes`, `ImageRoutes`, …).
final class SliceboxAPI: @unchecked Sendable {
    let node: NodeServer
    let auth: Authenticator
    let exports: ExportSets
    /// Called by `POST /api/system/stop` (the executable shuts down gracefully).
    let onStop: @Sendable () -> Void
    let publicURL: PublicURL
    var baseURL: String { publicURL.value }

    init(node: NodeServer, auth: Authenticator, baseURL: PublicURL, onStop: @escaping @Sendable () -> Void) {
        self.node = node
        self.auth = auth
        self.publicURL = baseURL
        self.onStop = onStop
        exports = ExportSets()
    }

    func router() -> Router {
        var api = APIRouter(auth: auth)
        addSystemRoutes(&api)
        addUserRoutes(&api)
        addMetadataRoutes(&api)
        addImageRoutes(&api)
        addNetworkRoutes(&api)
        addLogRoutes(&api)
        addImportRoutes(&api)
        addWatchRoutes(&api)
        addForwardingRoutes(&api)
        addSeriesTypeRoutes(&api)
        addFilteringRoutes(&api)
        addAnonymizationRoutes(&api)
        addBoxRoutes(&api)
        addTransactionRoutes(&api)
        return api.router
    }
}
