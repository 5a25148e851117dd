import Foundation
import XCTest
@testable import Codec

/// Private data dictionary (PS3.5 7.8.1), generated from pydicom's _private_dict.py by
/// scripts/gen_private_dictionary.py. Expected values are pydicom 3.0.2's.
final class PrivateDictionaryTests: XCTestCase {
    func testGEMSIdentification() throws {
        // pydicom: 'GEMS_IDEN_01': {'0009xx01': ('LO', '1', 'Full fidelity', ''), ...}
        let e = try XCTUnwrap(PrivateDictionary.entry(creator: "GEMS_IDEN_01", tag: Tag(0x0009_1001)))
        XCTAssertEqual(e.vrs, [.LO])
        XCTAssertEqual(e.vr, .LO)
        XCTAssertEqual(e.vm, "1")
        XCTAssertEqual(e.name, "Full fidelity")
        XCTAssertEqual(e.keyword, "")
        XCTAssertFalse(e.isRetired)
        XCTAssertEqual(e.tag, Tag(0x0009_0001))
        XCTAssertEqual(e.repeatMask, 0xFFFF_00FF)
        XCTAssertTrue(e.matches(Tag(0x0009_1001)))
        XCTAssertTrue(e.matches(Tag(0x0009_4F01)))
        XCTAssertEqual(PrivateDictionary.vr(creator: "GEMS_IDEN_01", tag: Tag(0x0009_1001)), .LO)
        // '0009xxE2': ('LT', '1-n', 'Image Type (ORIGINAL\\PROSPECTIVE ...)', '') - backslash survives the raw literal.
        let e2 = try XCTUnwrap(PrivateDictionary.entry(creator: "GEMS_IDEN_01", tag: Tag(0x0009_10E2)))
        XCTAssertEqual(e2.vr, .LT)
        XCTAssertEqual(e2.vm, "1-n")
        XCTAssertEqual(e2.name, #"Image Type (ORIGINAL\PROSPECTIVE ...)"#)
        XCTAssertEqual(PrivateDictionary.vr(creator: "GEMS_IDEN_01", tag: Tag(0x0009_1027)), .SL)
    }

    func testBlockIsIgnored() {
        // The creator may reserve any block (gggg,0010-00FF); only the low byte of the element counts.
        for block in [0x10, 0x11, 0x4F, 0xFF] as [UInt32] {
            let tag = Tag(0x0009_0000 | block << 8 | 0x02)
            XCTAssertEqual(PrivateDictionary.vr(creator: "GEMS_IDEN_01", tag: tag), .SH, "\(tag)")
            XCTAssertEqual(PrivateDictionary.entry(creator: "GEMS_IDEN_01", tag: tag)?.name, "Suite id")
        }
        // SIEMENS CSA HEADER (0029,xx10) CSA Image Header Info, OB.
        XCTAssertEqual(PrivateDictionary.vr(creator: "SIEMENS CSA HEADER", tag: Tag(0x0029_1010)), .OB)
        XCTAssertEqual(PrivateDictionary.vr(creator: "SIEMENS CSA HEADER", tag: Tag(0x0029_1110)), .OB)
        XCTAssertEqual(PrivateDictionary.entry(creator: "SIEMENS CSA HEADER", tag: Tag(0x0029_1010))?.name,
                       "CSA Image Header Info")
    }

    func testCreatorPadding() {
        // pydicom strips trailing spaces and NULs from the creator value; nothing else.
        XCTAssertEqual(PrivateDictionary.vr(creator: "GEMS_IDEN_01 ", tag: Tag(0x0009_1001)), .LO)
        XCTAssertEqual(PrivateDictionary.vr(creator: "GEMS_IDEN_01\0", tag: Tag(0x0009_1001)), .LO)
        XCTAssertEqual(PrivateDictionary.vr(creator: "GEMS_IDEN_01 \0 ", tag: Tag(0x0009_1001)), .LO)
        XCTAssertEqual(PrivateDictionary.entry(creator: "GEMS_IDEN_01  ", tag: Tag(0x0009_1001))?.name, "Full fidelity")
        // A long (heap, not small) String with padding.
        XCTAssertEqual(PrivateDictionary.vr(creator: "SIEMENS CSA HEADER" + String(repeating: " ", count: 40),
                                            tag: Tag(0x0029_1010)), .OB)
        XCTAssertNil(PrivateDictionary.vr(creator: " GEMS_IDEN_01", tag: Tag(0x0009_1001)))
        XCTAssertNil(PrivateDictionary.vr(creator: "GEMS_IDEN_01\t", tag: Tag(0x0009_1001)))
        XCTAssertNil(PrivateDictionary.vr(creator: "gems_iden_01", tag: Tag(0x0009_1001)))
        XCTAssertNil(PrivateDictionary.vr(creator: "", tag: Tag(0x0009_1001)))
        XCTAssertNil(PrivateDictionary.vr(creator: "   ", tag: Tag(0x0009_1001)))
        // Non-native (bridged/non-contiguous) strings take the copying path.
        let bridged = String(NSString(string: "GEMS_IDEN_01 "))
        XCTAssertEqual(PrivateDictionary.vr(creator: bridged, tag: Tag(0x0009_1001)), .LO)
    }

    func testUnknown() {
        XCTAssertNil(PrivateDictionary.entry(creator: "NO SUCH CREATOR", tag: Tag(0x0009_1001)))
        XCTAssertNil(PrivateDictionary.vr(creator: "NO SUCH CREATOR", tag: Tag(0x0009_1001)))
        // Known creator, element not in its table ('0009xx03' is not there).
        XCTAssertNil(PrivateDictionary.vr(creator: "GEMS_IDEN_01", tag: Tag(0x0009_1003)))
        // Known creator and low byte, other group.
        XCTAssertNil(PrivateDictionary.vr(creator: "GEMS_IDEN_01", tag: Tag(0x0011_1001)))
        // pydicom's 'ggggbbxx' rows (GEMS_IDEN_01 '000910xx') are never matched by pydicom's lookup.
        XCTAssertNil(PrivateDictionary.vr(creator: "GEMS_IDEN_01", tag: Tag(0x0009_10FF)))
        XCTAssertNil(PrivateDictionary.vr(creator: "BioPri3D", tag: Tag(0x0011_1000)))
    }

    func testExactRowsWinAndOnlyMatchTheirBlock() throws {
        // ELSCINT1: '01F11026': ('FD', '1', 'Pitch'), '01F1xx26': ('DS', '1', 'Pitch').
        let exact = try XCTUnwrap(PrivateDictionary.entry(creator: "ELSCINT1", tag: Tag(0x01F1_1026)))
        XCTAssertEqual(exact.vr, .FD)
        XCTAssertEqual(exact.tag, Tag(0x01F1_1026))
        XCTAssertEqual(exact.repeatMask, 0xFFFF_FFFF)
        XCTAssertEqual(PrivateDictionary.vr(creator: "ELSCINT1", tag: Tag(0x01F1_1126)), .DS)
        // '01F1104E': SH, '01F1xx4E': LO.
        XCTAssertEqual(PrivateDictionary.vr(creator: "ELSCINT1", tag: Tag(0x01F1_104E)), .SH)
        XCTAssertEqual(PrivateDictionary.vr(creator: "ELSCINT1", tag: Tag(0x01F1_114E)), .LO)
        // '00E10046' (OB) is only an exact row: pydicom gives UN for (00E1,1046).
        XCTAssertNil(PrivateDictionary.vr(creator: "ELSCINT1", tag: Tag(0x00E1_1046)))
        XCTAssertEqual(PrivateDictionary.vr(creator: "ELSCINT1", tag: Tag(0x00E1_0046)), .OB)
    }

    func testGroupWildcardRows() throws {
        // 'PAPYRUS 3.0': '60xxxx10': ('US', '1', 'Overlay Rows').
        for group: UInt32 in [0x6001, 0x6003, 0x60FF] {
            let tag = Tag(group << 16 | 0x1010)
            let e = try XCTUnwrap(PrivateDictionary.entry(creator: "PAPYRUS 3.0", tag: tag), "\(tag)")
            XCTAssertEqual(e.vr, .US)
            XCTAssertEqual(e.name, "Overlay Rows")
            XCTAssertEqual(e.tag, Tag(0x6000_0010))
            XCTAssertEqual(e.repeatMask, 0xFF00_00FF)
        }
        XCTAssertEqual(PrivateDictionary.vr(creator: "PAPYRUS 3.0", tag: Tag(0x6001_10C0)), .SQ)
        XCTAssertNil(PrivateDictionary.vr(creator: "PAPYRUS 3.0", tag: Tag(0x6101_1010)))
    }

    func testVRChoices() throws {
        // 'FDMS 1.0' '0027xxA3': ('US or SS', '1-n', 'Raw Data')
        XCTAssertEqual(PrivateDictionary.entry(creator: "FDMS 1.0", tag: Tag(0x0027_10A3))?.vrs, [.US, .SS])
        XCTAssertEqual(PrivateDictionary.vr(creator: "FDMS 1.0", tag: Tag(0x0027_10A3)), .US)
        // 'TOSHIBA_MEC_OT3' '7019xx80': ('OB_OW', ...) - pydicom itself cannot decode it; we say OB.
        XCTAssertEqual(PrivateDictionary.entry(creator: "TOSHIBA_MEC_OT3", tag: Tag(0x7019_1080))?.vrs, [.OB, .OW])
        // Non-ASCII names ('0025xx34': ('SS', '1', 'tan θ')).
        XCTAssertEqual(PrivateDictionary.entry(creator: "FDMS 1.0", tag: Tag(0x0025_1034))?.name, "tan θ")
    }

    func testCreators() {
        let creators = PrivateDictionary.creators
        XCTAssertEqual(creators.count, 448)  // pydicom 3.0.2 has 449; BioPri3D has only unreachable rows
        XCTAssertEqual(creators, creators.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        XCTAssertEqual(Set(creators).count, creators.count)
        for c in ["GEMS_IDEN_01", "SIEMENS CSA HEADER", "Philips Imaging DD 001", "HOLOGIC", "Hologic"] {
            XCTAssertTrue(creators.contains(c), c)
        }
        XCTAssertFalse(creators.contains("BioPri3D"))
    }

    func testConcurrentLookups() {
        // The index is a lazily initialised, immutable `static let`: concurrent lookups must agree.
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let vr = PrivateDictionary.vr(creator: "GEMS_IDEN_01", tag: Tag(0x0009_1001 + UInt32(i % 2)))
            XCTAssertEqual(vr, i % 2 == 0 ? .LO : .SH)
        }
    }

    /// Every row of pydicom's table, probed in several blocks and groups, against pydicom's own
    /// `get_private_entry` (the lookup its reader uses for Implicit VR private elements).
    func testAgreesWithPydicom() throws {
        let script = #"""
import sys
from pydicom._private_dict import private_dictionaries as P
from pydicom.datadict import get_private_entry
out = []
for creator, d in P.items():
    tags = set()
    for k in d:
        g, e = k[:4], k[4:]
        for gg in ([g] if 'x' not in g else [g[:2] + '01', g[:2] + 'FF']):
            for ee in ([e] if 'x' not in e[:2] else ['10' + e[2:], '4F' + e[2:]]):
                if 'x' not in ee:
                    tags.add(int(gg + ee, 16))
                    tags.add(int(gg + ee, 16) ^ 0x0100)  # another block
    for t in sorted(tags):
        try:
            vr, vm, name, _ = get_private_entry(t, creator)
        except KeyError:
            vr, vm, name = '-', '', ''
        out.append('\t'.join([creator, '%08X' % t, vr, vm, name]))
sys.stdout.write('\n'.join(out))
"""#
        let (status, out, err) = try TestSupport.run("python3", ["-c", script])
        guard status == 0 else {
            throw XCTSkipFailure("python3 with pydicom is required for this test (run scripts/install-test-peers.sh): \(err)")
        }
        var checked = 0, found = 0
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 5, let value = UInt32(f[1], radix: 16) else { XCTFail("bad line \(line)"); continue }
            let creator = f[0], tag = Tag(value)
            let entry = PrivateDictionary.entry(creator: creator, tag: tag)
            let vr = PrivateDictionary.vr(creator: creator, tag: tag)
            checked += 1
            if f[2] == "-" {
                XCTAssertNil(entry, "\(creator) \(tag)")
                XCTAssertNil(vr, "\(creator) \(tag)")
                continue
            }
            found += 1
            let expectedVRs = f[2] == "OB_OW" ? "OB|OW" : f[2].replacingOccurrences(of: " or ", with: "|")
            XCTAssertEqual(entry?.vrs.map(\.description).joined(separator: "|"), expectedVRs, "\(creator) \(tag)")
            XCTAssertEqual(vr, entry?.vr, "\(creator) \(tag)")
            XCTAssertEqual(entry?.vm, f[3], "\(creator) \(tag)")
            XCTAssertEqual(entry?.name, f[4], "\(creator) \(tag)")
            XCTAssertEqual(entry.map { $0.matches(tag) }, true, "\(creator) \(tag)")
        }
        XCTAssertGreaterThan(checked, 20_000)
        XCTAssertGreaterThan(found, 10_000)
    }
}
