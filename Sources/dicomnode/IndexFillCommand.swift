import Foundation
import Node

/// `dicomnode index-fill`: a synthetic index for benchmarks (start-up time, ingest rate at scale).
struct IndexFillCommand: Command {
    let summary = "benchmark helper: add N synthetic instances to a data folder's index"
    let help = """
    usage: dicomnode index-fill --data FOLDER --count N [--per-series 100] [--series-per-study 4]

    Adds N synthetic instances (rows only, no image files) to FOLDER/index.sqlite through the
    index's own insert path, 10,000 per transaction, grouped into series, studies and patients.
    For measuring start-up and ingest at scale; never point it at a data folder in use.
    """

    func run(_ args: [String]) -> Int32 {
        do {
            let parsed = try ParsedArguments(args, valued: ["--data", "--count", "--per-series", "--series-per-study"], switches: [])
            guard let data = parsed.options["--data"], let count = parsed.options["--count"].flatMap(Int.init), count > 0 else {
                throw UsageError("give --data FOLDER and --count N")
            }
            let perSeries = parsed.options["--per-series"].flatMap(Int.init) ?? 100
            let seriesPerStudy = parsed.options["--series-per-study"].flatMap(Int.init) ?? 4
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            let index = try SQLiteIndex(path: data + "/index.sqlite")
            let run = UInt32.random(in: 0...UInt32.max)
            let started = Date()
            var done = 0
            while done < count {
                let n = min(10_000, count - done)
                let records = (done..<(done + n)).map { i -> IndexRecord in
                    let series = i / perSeries, study = series / seriesPerStudy, patient = study / 2
                    let values: [String: String] = [
                        "patient_name": "Synthetic^\(run)^\(patient)", "patient_id": "S\(run)-\(patient)", "patient_sex": "O",
                        "study_instance_uid": "2.25.\(run).\(study)", "study_date": "2024\(String(format: "%02d%02d", study % 12 + 1, study % 28 + 1))",
                        "series_instance_uid": "2.25.\(run).\(study).\(series)", "modality": ["CT", "MR", "US", "CR"][series % 4],
                        "sop_instance_uid": "2.25.\(run).\(study).\(series).\(i)", "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
                        "instance_number": "\(i % perSeries + 1)",
                    ]
                    return IndexRecord(values: values, transferSyntaxUID: "1.2.840.10008.1.2.1", storageKey: String(format: "%032x", i) + "\(run)",
                                       fileSize: 0, checksum: 0, source: Source(type: .import, name: "index-fill", id: -1))
                }
                _ = try index.addBatch(records, policy: .replace)
                done += n
                if done % 100_000 == 0 || done == count {
                    let rate = Double(done) / Date().timeIntervalSince(started)
                    FileHandle.standardError.write("index-fill: \(done)/\(count) (\(Int(rate))/s)\n".data(using: .utf8)!)
                }
            }
            return 0
        } catch {
            return failure("index-fill", error)
        }
    }
}
