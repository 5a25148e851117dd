import Foundation
import Node

/// `/api/system/…` and the OpenAPI document.
extension SliceboxAPI {
    func addSystemRoutes(_ api: inout APIRouter) {
        api.publicRoute(.get, "/system/health") { _ in .empty(.ok) }
        api.publicRoute(.get, "/system/information") { _ in .json(["version": DicomNodeVersion.current]) }
        api.post("/system/stop", .administrator) { [onStop, node] _, user in
            node.log.log(.info, "system", "stop requested", ["user": user.name])
            // After the response is written: the handler's connection must not be the one waited for.
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { onStop() }
            return .empty(.ok)
        }
        api.publicRoute(.get, "/openapi.json") { [publicURL] _ in .json(OpenAPIDocument.slicebox(serverURL: publicURL.value + "/api")) }
    }
}

public enum DicomNodeVersion {
    public static let current = "0.3.0"
}
