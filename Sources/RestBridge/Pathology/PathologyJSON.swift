import Foundation
import Node

/// The seed's JSON shapes (`<image_object>`, `<log_object>`, the upload `response`), with the
/// seed's field names. Ids of patients, entities, work areas and studies are strings, as the
/// seed answers them; `shared` is the comma-separated user ids (owner first). Beyond the seed:
/// `userid` (the owner), `outcome_status` and `predict_status` (the prediction stage and the job
/// as a whole), `tissue_area_percent`, `width`, `height`, `tile_count`, `file_size`.
extension PathologyAPI {
    func json(_ image: PathologyImage, _ r: HTTPRequest) -> [String: Any] {
        func value(_ v: Any?) -> Any { v ?? NSNull() }
        let base = self.base(r)
        return [
            "id": image.id,
            "image_unique_id": image.imageUniqueId,
            "userid": image.ownerId,
            "workarea_id": value(image.workareaId),
            "entity_id": value(image.entityId),
            "study_id": value(image.studyId),
            "patient_id": value(image.patientId),
            "filename": image.filename,
            "location": value(image.location),
            "description": value(image.description),
            "workarea": value(image.workareaId),
            "study": value(image.studyId),
            "adddate": image.adddate,
            "moddate": image.moddate,
            "status": image.status,
            "base_download_url": image.hasFile ? base + "/S3/file/" + image.imageUniqueId : NSNull(),
            "base_raw_download_url": image.hasFile ? base + "/S3/raw/" + image.imageUniqueId : NSNull(),
            "tissue_area": value(image.tissueArea),
            "tissue_area_percent": value(image.tissueAreaPercent),
            "outcome_prediction": value(image.outcomePrediction),
            "shared": image.shared.map(String.init).joined(separator: ","),
            "annotation_status": image.annotationStatus.rawValue,
            "tissuearea_status": image.tissueAreaStatus.rawValue,
            "tiling_status": image.tilingStatus.rawValue,
            "outcome_status": image.outcomeStatus.rawValue,
            "predict_status": image.predictStatus.rawValue,
            "metric": value(image.metric),
            "width": value(image.width),
            "height": value(image.height),
            "tile_count": value(image.tileCount),
            "file_size": value(image.fileSize),
        ]
    }

    static func json(_ entry: PathologyLogEntry) -> [String: Any] {
        ["id": entry.id, "imageid": entry.imageUniqueId, "image_id": entry.imageId, "type": entry.type, "message": entry.message,
         "userid": entry.userId.map { $0 as Any } ?? NSNull(), "adddate": entry.adddate]
    }

    /// The seed's upload `response`: where to POST the file and the signed policy for it.
    func uploadResponse(_ image: PathologyImage, _ r: HTTPRequest) -> [String: Any] {
        let signed = signer.policy(key: image.imageUniqueId, maxBytes: maxUploadBytes, seconds: service.config.uploadPolicySeconds)
        return ["url": base(r) + "/S3/upload", "key": image.imageUniqueId, "AWSAccessKeyId": signer.accessKeyId,
                "policy": signed.policy, "signature": signed.signature, "bucket": signer.bucket, "expiration": signed.expiration]
    }
}
