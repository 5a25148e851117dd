import Foundation
import Codec
import DicomNet

// find / move / get: the Query/Retrieve SCU (PS3.4 Annex C) from the command line, after
// DCMTK's findscu, movescu and getscu.

/// The options the three commands share: model, level and `-k` keys.
struct QueryArguments {
    var model = QueryRetrieveModel.studyRoot
    var identifier = DataSet()
    var parsed: ParsedArguments
    var peer: PeerArguments

    static let valued: Set<String> = PeerArguments.valued.union(["--model", "--level"])

    /// `-k`/`--key` may repeat, which ParsedArguments does not keep: they are taken out first.
    init(_ args: [String], valued extra: Set<String> = [], switches: Set<String> = []) throws {
        var keys: [String] = []
        var rest: [String] = []
        var i = 0
        while i < args.count {
            if args[i] == "-k" || args[i] == "--key" {
                guard i + 1 < args.count else { throw UsageError("\(args[i]) needs KEY=VALUE") }
                keys.append(args[i + 1])
                i += 2
            } else {
                rest.append(args[i])
                i += 1
            }
        }
        parsed = try ParsedArguments(rest, valued: QueryArguments.valued.union(extra), switches: switches)
        peer = try PeerArguments(parsed, positionalCount: 2)
        switch parsed.options["--model"]?.lowercased() ?? "study" {
        case "study": model = .studyRoot
        case "patient": model = .patientRoot
        case let other: throw UsageError("--model takes patient or study, not '\(other)'")
        }
        identifier = try QueryArguments.identifier(keys: keys, level: parsed.options["--level"]?.uppercased() ?? "STUDY")
    }

    /// `KEY=VALUE` sets a matching key, `KEY` alone asks for a return key (zero length, PS3.4
    /// C.2.2.1). KEY is a keyword or gggg,eeee; a value's backslashes separate values (UID lists).
    static func identifier(keys: [String], level: String) throws -> DataSet {
        var ds = DataSet()
        ds.set(DataElement(tag: .queryRetrieveLevel, vr: .CS, bytes: Array((level.count % 2 == 1 ? level + " " : level).utf8)))
        // Specific Character Set first: the other values are encoded in it.
        let ordered = keys.filter { $0.hasPrefix("SpecificCharacterSet") || $0.hasPrefix("0008,0005") }
            + keys.filter { !($0.hasPrefix("SpecificCharacterSet") || $0.hasPrefix("0008,0005")) }
        for key in ordered {
            let name = key.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? key
            let value = key.count > name.count ? String(key.dropFirst(name.count + 1)) : ""
            guard let tag = Tag(parsing: name) else { throw UsageError("'\(name)' is neither a keyword nor gggg,eeee") }
            let vr = DataDictionary.vr(for: tag)
            if vr == .SQ {
                guard value.isEmpty else { throw UsageError("\(name) is a sequence: give it without a value") }
                ds.set(tag, items: [])
            } else if value.isEmpty {
                ds.set(DataElement(tag: tag, vr: vr, bytes: []))
            } else {
                do { try ds.set(tag, vr: vr, strings: value.split(separator: "\\", omittingEmptySubsequences: false).map(String.init)) } catch {
                    throw UsageError("\(name)=\(value): \(error)")
                }
            }
        }
        return ds
    }
}

let queryOptionsHelp = """
      --model M         information model: study (Study Root, default) or patient (Patient Root)
      --level L         Query/Retrieve Level unless -k gives it: PATIENT, STUDY (default), SERIES, IMAGE
      -k KEY[=VALUE]    a key, by keyword or gggg,eeee: with a value it is matched (* and ? wildcards,
                        UID lists with \\), without one it is asked for; repeat for more keys
"""

struct FindCommand: Command {
    let summary = "query a peer with C-FIND (like DCMTK findscu)"
    let help = """
    usage: dicomnode find [options] [-k KEY[=VALUE]]... HOST PORT

    Sends one C-FIND and prints each match like 'dicomnode dump', then the final status.
    Exit status 0 when the query ends in Success (or Cancel after --cancel-after).

    example: dicomnode find -k PatientID=12* -k StudyInstanceUID -k StudyDate pacs.example 104

    options:
    \(peerOptionsHelp)
    \(queryOptionsHelp)
          --cancel-after N  send C-CANCEL after N matches
    """

    func run(_ args: [String]) -> Int32 {
        do {
            let q = try QueryArguments(args, valued: ["--cancel-after"])
            var cancelAfter = Int.max
            if let n = q.parsed.options["--cancel-after"] {
                guard let v = Int(n), v > 0 else { throw UsageError("--cancel-after takes a number of matches") }
                cancelAfter = v
            }
            var request = q.peer.request()
            request.propose(q.model.findSOPClass, transferSyntaxes: AcceptorPolicy.queryRetrieveTransferSyntaxes)
            let assoc = try request.open()
            let out = StandardOutput()
            var matches = 0
            let status = try assoc.find(identifier: q.identifier, model: q.model.findSOPClass) { match in
                matches += 1
                out.write("# Match \(matches)\n")
                var bytes: [UInt8] = []
                DumpFormatter().format(match, depth: 0, into: &bytes)
                out.buffer += bytes
                out.write("\n")
                out.flushIfLarge()
                return matches < cancelAfter
            }
            try assoc.release()
            out.write("C-FIND \(q.peer.calledAE)@\(q.peer.host):\(q.peer.port): \(status.description(for: .cFindRSP)), \(matches) match(es)\n")
            out.flush()
            return status.category == .success || status.category == .cancel ? 0 : 1
        } catch {
            complain("find: \(error)")
            return error is UsageError ? 2 : 1
        }
    }
}

/// One line per pending C-MOVE/C-GET response.
private func printProgress(_ p: RetrieveProgress) {
    print("pending: remaining \(p.remaining.map(String.init) ?? "?"), completed \(p.completed), failed \(p.failed), warning \(p.warning)")
}

private func printResult(_ name: String, _ peer: PeerArguments, _ r: RetrieveResult, service: CommandField) {
    print("\(name) \(peer.calledAE)@\(peer.host):\(peer.port): \(r.status.description(for: service)); completed \(r.completed), failed \(r.failed), warning \(r.warning)"
          + (r.remaining.map { ", remaining \($0)" } ?? "") + (r.errorComment.map { " (\($0))" } ?? ""))
    for uid in r.failedSOPInstanceUIDs { print("failed: \(uid)") }
}

struct MoveCommand: Command {
    let summary = "have a peer send instances to an AE with C-MOVE (like DCMTK movescu)"
    let help = """
    usage: dicomnode move [options] --dest AE [-k KEY=VALUE]... HOST PORT

    Asks the peer to send what the keys name (unique keys down to the level, PS3.4 C.4.2) to the
    AE title given with --dest, which the peer must know. Prints each pending response's counts
    and the final status. Exit status 0 when every sub-operation succeeded.

    example: dicomnode move --dest ARCHIVE -k StudyInstanceUID=1.2.3 pacs.example 104

    options:
    \(peerOptionsHelp)
    \(queryOptionsHelp)
          --dest AE         the move destination (required)
          --quiet           no pending lines
    """

    func run(_ args: [String]) -> Int32 {
        do {
            let q = try QueryArguments(args, valued: ["--dest"], switches: ["--quiet"])
            guard let dest = q.parsed.options["--dest"], !dest.isEmpty, dest.count <= 16 else {
                throw UsageError("give the destination AE title with --dest (1 to 16 characters)")
            }
            let quiet = q.parsed.flags.contains("--quiet")
            var request = q.peer.request()
            // FIND too, as movescu does: some SCPs (dcmqrscp) complain of a MOVE context alone.
            request.propose(q.model.findSOPClass, transferSyntaxes: AcceptorPolicy.queryRetrieveTransferSyntaxes)
            request.propose(q.model.moveSOPClass, transferSyntaxes: AcceptorPolicy.queryRetrieveTransferSyntaxes)
            let assoc = try request.open()
            let result = try assoc.move(identifier: q.identifier, model: q.model.moveSOPClass, destination: dest) { p in
                if !quiet { printProgress(p) }
                return true
            }
            try assoc.release()
            printResult("C-MOVE to \(dest) via", q.peer, result, service: .cMoveRSP)
            return result.status.isSuccess ? 0 : 1
        } catch {
            complain("move: \(error)")
            return error is UsageError ? 2 : 1
        }
    }
}

struct GetCommand: Command {
    let summary = "retrieve instances into a folder with C-GET (like DCMTK getscu)"
    let help = """
    usage: dicomnode get [options] [-k KEY=VALUE]... HOST PORT

    Asks the peer to send what the keys name back on the same association (PS3.4 C.4.3) and
    writes each instance to FOLDER/<SOPInstanceUID>.dcm before acknowledging it. Proposes the
    common storage SOP classes (or those of --sop-classes) in Explicit and Implicit VR Little
    Endian with us in the SCP role. Exit status 0 when every sub-operation succeeded.

    example: dicomnode get --output study1 -k StudyInstanceUID=1.2.3 pacs.example 104

    options:
    \(peerOptionsHelp)
    \(queryOptionsHelp)
          --output FOLDER   where to write (default ./retrieved)
          --sop-classes U,U storage SOP class UIDs to accept instead of the common ones
          --quiet           no pending lines
    """

    /// The storage SOP classes proposed by default: an association holds 128 contexts and the
    /// standard has more storage classes, so the usual ones (after DCMTK's and pynetdicom's lists).
    static let commonStorageKeywords: Set<String> = [
        "ComputedRadiographyImageStorage", "DigitalXRayImageStorageForPresentation", "DigitalXRayImageStorageForProcessing",
        "DigitalMammographyXRayImageStorageForPresentation", "DigitalMammographyXRayImageStorageForProcessing",
        "DigitalIntraOralXRayImageStorageForPresentation", "CTImageStorage", "EnhancedCTImageStorage",
        "LegacyConvertedEnhancedCTImageStorage", "UltrasoundMultiFrameImageStorage", "MRImageStorage", "EnhancedMRImageStorage",
        "MRSpectroscopyStorage", "EnhancedMRColorImageStorage", "LegacyConvertedEnhancedMRImageStorage", "UltrasoundImageStorage",
        "EnhancedUSVolumeStorage", "SecondaryCaptureImageStorage", "MultiFrameSingleBitSecondaryCaptureImageStorage",
        "MultiFrameGrayscaleByteSecondaryCaptureImageStorage", "MultiFrameGrayscaleWordSecondaryCaptureImageStorage",
        "MultiFrameTrueColorSecondaryCaptureImageStorage", "TwelveLeadECGWaveformStorage", "GeneralECGWaveformStorage",
        "AmbulatoryECGWaveformStorage", "HemodynamicWaveformStorage", "BasicVoiceAudioWaveformStorage",
        "GrayscaleSoftcopyPresentationStateStorage", "ColorSoftcopyPresentationStateStorage",
        "PseudoColorSoftcopyPresentationStateStorage", "BlendingSoftcopyPresentationStateStorage",
        "XRayAngiographicImageStorage", "EnhancedXAImageStorage", "XRayRadiofluoroscopicImageStorage", "EnhancedXRFImageStorage",
        "XRay3DAngiographicImageStorage", "BreastTomosynthesisImageStorage", "NuclearMedicineImageStorage", "ParametricMapStorage",
        "RawDataStorage", "SpatialRegistrationStorage", "SpatialFiducialsStorage", "DeformableSpatialRegistrationStorage",
        "SegmentationStorage", "SurfaceSegmentationStorage", "RealWorldValueMappingStorage", "VLEndoscopicImageStorage",
        "VideoEndoscopicImageStorage", "VLMicroscopicImageStorage", "VLPhotographicImageStorage", "VideoPhotographicImageStorage",
        "OphthalmicPhotography8BitImageStorage", "OphthalmicPhotography16BitImageStorage", "OphthalmicTomographyImageStorage",
        "VLWholeSlideMicroscopyImageStorage", "BasicTextSRStorage", "EnhancedSRStorage", "ComprehensiveSRStorage",
        "Comprehensive3DSRStorage", "ExtensibleSRStorage", "ProcedureLogStorage", "MammographyCADSRStorage",
        "KeyObjectSelectionDocumentStorage", "ChestCADSRStorage", "XRayRadiationDoseSRStorage", "RadiopharmaceuticalRadiationDoseSRStorage",
        "EncapsulatedPDFStorage", "EncapsulatedCDAStorage", "EncapsulatedSTLStorage", "PositronEmissionTomographyImageStorage",
        "LegacyConvertedEnhancedPETImageStorage", "EnhancedPETImageStorage", "RTImageStorage", "RTDoseStorage",
        "RTStructureSetStorage", "RTBeamsTreatmentRecordStorage", "RTPlanStorage", "RTBrachyTreatmentRecordStorage",
        "RTTreatmentSummaryRecordStorage", "RTIonPlanStorage", "RTIonBeamsTreatmentRecordStorage",
    ]

    func run(_ args: [String]) -> Int32 {
        do {
            let q = try QueryArguments(args, valued: ["--output", "--sop-classes"], switches: ["--quiet"])
            let quiet = q.parsed.flags.contains("--quiet")
            let sopClasses: [String]
            if let list = q.parsed.options["--sop-classes"] {
                sopClasses = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                guard !sopClasses.isEmpty, sopClasses.count <= 126 else { throw UsageError("--sop-classes takes 1 to 126 UIDs") }
            } else {
                sopClasses = UIDRegistry.storageSOPClasses.filter { GetCommand.commonStorageKeywords.contains($0.keyword) }.map(\.uid)
            }
            let storage = try FolderStorage(folder: q.parsed.options["--output"] ?? "retrieved")
            var request = q.peer.request()
            request.propose(q.model.findSOPClass, transferSyntaxes: AcceptorPolicy.queryRetrieveTransferSyntaxes)
            request.propose(q.model.getSOPClass, transferSyntaxes: AcceptorPolicy.queryRetrieveTransferSyntaxes)
            request.proposeStorageForGet(sopClasses)
            let assoc = try request.open()
            let result = try assoc.get(identifier: q.identifier, model: q.model.getSOPClass, storage: storage) { p in
                if !quiet { printProgress(p) }
                return true
            }
            try assoc.release()
            printResult("C-GET into \(storage.folder) from", q.peer, result, service: .cGetRSP)
            return result.status.isSuccess ? 0 : 1
        } catch {
            complain("get: \(error)")
            return error is UsageError ? 2 : 1
        }
    }
}
